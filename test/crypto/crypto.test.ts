/**
 * The crypto interface: the guarantees the rest of the code relies on, checked on each
 * backend in turn (sodium-native, then libsodium.js) in this one process.
 */
import t from 'tap'
import {
  aeadOpen, aeadOpenInto, aeadSeal, aeadSealInto, xaeadOpenInto, xaeadSealInto, blake2b, chacha20Xor, cryptoReady, ed25519KeyPair, equal, isZero, kdf, memzero, randomBytes,
  randomFill, randomUint32, randomUniform, sign, verify, x25519, x25519KeyPair, xaeadOpen, xaeadSeal, CryptoError, cryptoBackend,
} from '../../src/crypto/index.js'
import { useCryptoBackend } from '../../src/crypto/select.js'
import { backendsToTest } from './backends.js'

await cryptoReady()

for (const name of await backendsToTest(t)) {
  t.test(`${name} backend`, async (t) => {
    await useCryptoBackend(name)
    t.equal(cryptoBackend(), name)

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

    t.test('into-buffer AEADs: in place or apart, checked lengths and overlaps, false on a forgery', async (t) => {
      const key = randomBytes(32); const nonce = randomBytes(12); const xn = randomBytes(24); const ad = Uint8Array.of(7)
      const m = randomBytes(300)
      const buf = new Uint8Array(400)
      buf.set(m, 10)
      aeadSealInto(buf.subarray(10, 326), key, nonce, ad, buf.subarray(10, 310))
      t.ok(equal(buf.subarray(10, 326), aeadSeal(key, nonce, ad, m)), 'sealed in place = aeadSeal')
      t.ok(aeadOpenInto(buf.subarray(10, 310), key, nonce, ad, buf.subarray(10, 326)), 'opens in place')
      t.ok(equal(buf.subarray(10, 310), m))
      const apart = new Uint8Array(316)
      xaeadSealInto(apart, key, xn, null, m)
      t.ok(equal(apart, xaeadSeal(key, xn, null, m)), 'xaead apart = xaeadSeal')
      const back = new Uint8Array(300)
      t.ok(xaeadOpenInto(back, key, xn, null, apart) && equal(back, m))
      apart[5]! ^= 1
      t.notOk(xaeadOpenInto(back, key, xn, null, apart), 'a flipped bit does not open')
      t.notOk(aeadOpenInto(new Uint8Array(0), key, nonce, null, new Uint8Array(3)), 'shorter than a tag')
      const code = (f: () => unknown): string | undefined => { try { f() } catch (e) { return (e as CryptoError).code } return undefined }
      t.equal(code(() => aeadSealInto(new Uint8Array(315), key, nonce, null, m)), 'CRYPTO_BAD_LENGTH', 'output one byte short')
      t.equal(code(() => aeadSealInto(buf.subarray(11, 327), key, nonce, null, buf.subarray(10, 310))), 'CRYPTO_BAD_LENGTH', 'overlap not in place')
      t.equal(code(() => aeadOpenInto(buf.subarray(0, 300), key, nonce, null, buf.subarray(10, 326))), 'CRYPTO_BAD_LENGTH', 'overlap on opening')
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

    t.test('small-order X25519 points and bad lengths throw the same typed errors', async (t) => {
      const { secretKey } = x25519KeyPair()
      // From libsodium's blocklist: the point of order 1 and one of order 8.
      for (const point of ['0100000000000000000000000000000000000000000000000000000000000000',
        'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800']) {
        t.throws(() => x25519(secretKey, Uint8Array.from(Buffer.from(point, 'hex'))), { code: 'CRYPTO_BAD_POINT' }, point)
      }
      t.throws(() => x25519(new Uint8Array(31), x25519KeyPair().publicKey), { code: 'CRYPTO_BAD_POINT' }, 'short secret')
      t.throws(() => blake2b(15, Uint8Array.of(1)), { code: 'CRYPTO_BAD_LENGTH' })
      t.throws(() => blake2b(65, Uint8Array.of(1)), { code: 'CRYPTO_BAD_LENGTH' })
      t.throws(() => blake2b(32, Uint8Array.of(1), new Uint8Array(15)), { code: 'CRYPTO_BAD_LENGTH' })
      t.ok(equal(blake2b(32, Uint8Array.of(1), new Uint8Array(0)), blake2b(32, Uint8Array.of(1))), 'an empty key is no key')
      t.throws(() => kdf(32, 1, 'mgcïrc1', randomBytes(32)), { code: 'CRYPTO_BAD_CONTEXT' })
      t.throws(() => kdf(32, 2 ** 31, 'mgcirc01', randomBytes(32)), { code: 'CRYPTO_BAD_LENGTH' })
      t.throws(() => kdf(32, -1, 'mgcirc01', randomBytes(32)), { code: 'CRYPTO_BAD_LENGTH' })
      t.throws(() => chacha20Xor(randomBytes(32), randomBytes(12), Uint8Array.of(1), 2 ** 31), { code: 'CRYPTO_BAD_LENGTH' })
    })

    t.test('outputs are plain Uint8Arrays, never Buffers (whose slice() aliases)', async (t) => {
      const key = randomBytes(32)
      const outputs = [aeadSeal(key, randomBytes(12), null, Uint8Array.of(1)), blake2b(32, Uint8Array.of(1)), kdf(32, 1, 'mgcirc01', key),
        x25519KeyPair().publicKey, ed25519KeyPair().secretKey, chacha20Xor(key, randomBytes(12), Uint8Array.of(1)), randomBytes(8)]
      for (const out of outputs) t.equal(Object.getPrototypeOf(out), Uint8Array.prototype)
    })
  })
}
