/**
 * HMAC-BLAKE2b and Noise's HKDF, checked against Node's OpenSSL HMAC with blake2b512 (an
 * independent implementation with the same 128-byte block), and the SymmetricState steps.
 */
import t from 'tap'
import { createHmac } from 'node:crypto'
import { blake2b, cryptoReady, randomBytes } from '../../../src/crypto/index.js'
import { hash, hkdf, hmac, SymmetricState, HASHLEN, BLOCKLEN } from '../../../src/link/noise/symmetric-state.js'

await cryptoReady()

const opensslHmac = (key: Uint8Array, data: Uint8Array): Uint8Array =>
  Uint8Array.from(createHmac('blake2b512', key).update(data).digest())

t.test('constants: BLAKE2b-512, HASHLEN 64, BLOCKLEN 128', async (t) => {
  t.equal(HASHLEN, 64)
  t.equal(BLOCKLEN, 128)
  t.same(hash(Uint8Array.of(1, 2)), blake2b(64, Uint8Array.of(1, 2)))
})

t.test('HMAC-BLAKE2b matches OpenSSL for short, block-sized and long keys', async (t) => {
  for (const keyLength of [0, 1, 32, 64, 127, 128, 129, 300]) {
    for (const dataLength of [0, 1, 64, 200]) {
      const key = randomBytes(keyLength)
      const data = randomBytes(dataLength)
      t.same(hmac(key, data), opensslHmac(key, data), `key ${keyLength}, data ${dataLength}`)
    }
  }
})

t.test('HKDF follows the Noise definition for 2 and 3 outputs', async (t) => {
  const ck = randomBytes(64)
  const ikm = randomBytes(32)
  const temp = opensslHmac(ck, ikm)
  const o1 = opensslHmac(temp, Uint8Array.of(1))
  const o2 = opensslHmac(temp, Uint8Array.from([...o1, 2]))
  const o3 = opensslHmac(temp, Uint8Array.from([...o2, 3]))
  t.same(hkdf(ck, ikm, 2), [o1, o2])
  t.same(hkdf(ck, ikm, 3), [o1, o2, o3])
})

t.test('InitializeSymmetric pads short names and hashes long ones', async (t) => {
  const short = new SymmetricState('Noise_NK_25519_ChaChaPoly_BLAKE2b')
  const padded = new Uint8Array(64)
  padded.set(new TextEncoder().encode('Noise_NK_25519_ChaChaPoly_BLAKE2b'))
  t.same(short.handshakeHash(), padded)
  const longName = 'Noise_' + 'X'.repeat(80)
  t.same(new SymmetricState(longName).handshakeHash(), blake2b(64, new TextEncoder().encode(longName)))
})

t.test('MixHash, MixKey, EncryptAndHash/DecryptAndHash and Split agree between two parties', async (t) => {
  const a = new SymmetricState('Noise_test')
  const b = new SymmetricState('Noise_test')
  const before = a.handshakeHash()
  a.mixHash(Uint8Array.of(1))
  b.mixHash(Uint8Array.of(1))
  t.same(a.handshakeHash(), blake2b(64, Uint8Array.from([...before, 1])))
  t.same(a.encryptAndHash(Uint8Array.of(4)), Uint8Array.of(4), 'no key yet: plaintext passes')
  t.same(b.decryptAndHash(Uint8Array.of(4)), Uint8Array.of(4))
  const secret = randomBytes(32)
  a.mixKey(secret)
  b.mixKey(secret)
  const sealed = a.encryptAndHash(Uint8Array.of(7, 7))
  t.equal(sealed.length, 2 + 16)
  t.same(b.decryptAndHash(sealed), Uint8Array.of(7, 7))
  t.same(a.handshakeHash(), b.handshakeHash())
  t.throws(() => b.decryptAndHash(sealed), 'replay fails: nonce and h moved on')
  const [a1, a2] = a.split()
  const [b1, b2] = b.split()
  const empty = new Uint8Array(0)
  t.same(b1.decryptWithAd(empty, a1.encryptWithAd(empty, Uint8Array.of(1))), Uint8Array.of(1))
  t.same(a2.decryptWithAd(empty, b2.encryptWithAd(empty, Uint8Array.of(2))), Uint8Array.of(2))
  a.wipe()
  t.notOk(a.hasKey())
})
