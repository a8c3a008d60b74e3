/**
 * The crypto interface: the guarantees the rest of the code relies on.
 */
import t from 'tap'
import {
  aeadOpen, aeadSeal, blake2b, chacha20Xor, cryptoReady, ed25519KeyPair, equal, isZero, kdf, memzero, randomBytes,
  randomFill, randomUint32, randomUniform, sign, verify, x25519, x25519KeyPair, xaeadOpen, xaeadSeal, CryptoError,
} from '../../src/crypto/index.js'

await cryptoReady()

t.test('X25519 agrees both ways and refuses malformed peer values with a typed error', async (t) => {
  const a = x25519KeyPair(); const b = x25519KeyPair()
  t.ok(equal(x25519(a.secretKey, b.publicKey), x25519(b.secretKey, a.publicKey)))
  t.throws(() => x25519(a.secretKey, new Uint8Array(32)), CryptoError)
  t.throws(() => x25519(a.secretKey, new Uint8Array(31)), { code: 'CRYPTO_BAD_POINT' })
  const high = Uint8Array.from(b.publicKey); high[31]! |= 0x80
  t.throws(() => x25519(a.secretKey, high), { code: 'CRYPTO_BAD_POINT' })
  t.throws(() => x25519KeyPair(new Uint8Array(31)), { code: 'CRYPTO_BAD_KEY' })
})

t.test('AEADs open what they sealed and return null for anything else', async (t) => {
  const key = randomBytes(32); const nonce = randomBytes(12); const ad = Uint8Array.of(1, 2)
  const sealed = aeadSeal(key, nonce, ad, Uint8Array.of(9, 9, 9))
  t.same(Array.from(aeadOpen(key, nonce, ad, sealed)!), [9, 9, 9])
  t.equal(aeadOpen(key, nonce, Uint8Array.of(1, 3), sealed), null, 'other AD')
  t.equal(aeadOpen(key, nonce, ad, sealed.subarray(0, 10)), null, 'truncated')
  t.equal(aeadOpen(key, nonce, ad, new Uint8Array(3)), null, 'shorter than a tag')
  const xn = randomBytes(24)
  const xs = xaeadSeal(key, xn, null, Uint8Array.of(5))
  t.same(Array.from(xaeadOpen(key, xn, null, xs)!), [5])
  xs[0]! ^= 1
  t.equal(xaeadOpen(key, xn, null, xs), null)
  t.equal(xaeadOpen(key, xn, null, new Uint8Array(2)), null)
  const data = randomBytes(100)
  t.ok(equal(chacha20Xor(key, nonce, chacha20Xor(key, nonce, data)), data), 'stream cipher is its own inverse')
})

t.test('hashing, KDF, signatures, comparisons and wiping', async (t) => {
  t.equal(blake2b(32, Uint8Array.of(1)).length, 32)
  t.notOk(equal(blake2b(32, Uint8Array.of(1)), blake2b(32, Uint8Array.of(1), randomBytes(32))), 'keyed differs from unkeyed')
  const master = randomBytes(32)
  t.notOk(equal(kdf(32, 1, 'mgcirc01', master), kdf(32, 2, 'mgcirc01', master)))
  t.throws(() => kdf(32, 1, 'short', master), { code: 'CRYPTO_BAD_CONTEXT' })
  const id = ed25519KeyPair(randomBytes(32))
  const message = Uint8Array.of(1, 2, 3)
  const signature = sign(id.secretKey, message)
  t.ok(verify(id.publicKey, message, signature))
  t.notOk(verify(id.publicKey, Uint8Array.of(1, 2), signature))
  t.notOk(verify(id.publicKey, message, signature.subarray(1)))
  t.notOk(verify(ed25519KeyPair().publicKey, message, signature))
  t.notOk(equal(Uint8Array.of(1), Uint8Array.of(1, 2)))
  const secret = randomBytes(16)
  memzero(secret)
  t.ok(isZero(secret))
  for (let i = 0; i < 100; i++) { const r = randomUniform(7); if (r < 0 || r >= 7) t.fail('out of range') }
})

t.test('pooled random draws are fresh, never repeat, and large draws bypass the pool', async (t) => {
  const seen = new Set<string>()
  for (let i = 0; i < 2000; i++) {
    const n = randomBytes(24)
    const hex = Buffer.from(n).toString('hex')
    if (seen.has(hex)) { t.fail('a nonce repeated'); return }
    seen.add(hex)
  }
  t.equal(seen.size, 2000, '2000 distinct 24-byte draws across several pool refills')
  const big = new Uint8Array(4096)
  randomFill(big)
  t.notOk(isZero(big), 'a large draw is filled')
  const words = new Set(Array.from({ length: 100 }, () => randomUint32()))
  t.ok(words.size > 95, 'randomUint32 varies')
})
