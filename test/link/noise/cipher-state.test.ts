/**
 * CipherState: the ChaChaPoly nonce layout, counting, the reserved nonce 2^64-1, failed
 * decryption leaving n alone, and Rekey.
 */
import t from 'tap'
import { aeadSeal, cryptoReady, randomBytes } from '../../../src/crypto/index.js'
import { CipherState } from '../../../src/link/noise/cipher-state.js'
import { NoiseError } from '../../../src/link/noise/errors.js'

await cryptoReady()

const EMPTY = new Uint8Array(0)

function noiseCode (fn: () => unknown): string | undefined {
  try { fn(); return undefined } catch (err) { return err instanceof NoiseError ? err.code : 'OTHER' }
}

function nonceFor (n: bigint): Uint8Array {
  const nonce = new Uint8Array(12)
  new DataView(nonce.buffer).setBigUint64(4, n, true)
  return nonce
}

t.test('nonce is 4 zero bytes then n as 64-bit little-endian, and n counts up', async (t) => {
  const key = randomBytes(32)
  const ad = Uint8Array.of(9, 9)
  const cs = new CipherState()
  cs.initializeKey(key)
  for (const n of [0n, 1n, 2n]) {
    t.same(cs.encryptWithAd(ad, Uint8Array.of(1, 2, 3)), aeadSeal(key, nonceFor(n), ad, Uint8Array.of(1, 2, 3)), `n = ${n}`)
  }
  for (const n of [0xfffffffen, 0xffffffffn, 0x100000000n, 0x0123456789abcdefn]) {
    cs.setNonce(n)
    t.same(cs.encryptWithAd(EMPTY, Uint8Array.of(7)), aeadSeal(key, nonceFor(n), EMPTY, Uint8Array.of(7)), `n = ${n.toString(16)}`)
    t.equal(cs.nonceValue, n + 1n, 'carries across the 32-bit halves')
  }
})

t.test('n = 2^64-1 is refused; 2^64-2 is the last usable nonce', async (t) => {
  const cs = new CipherState()
  cs.initializeKey(randomBytes(32))
  cs.setNonce(0xfffffffffffffffen)
  t.equal(cs.encryptWithAd(EMPTY, EMPTY).length, 16)
  t.equal(noiseCode(() => cs.encryptWithAd(EMPTY, EMPTY)), 'NOISE_NONCE_EXHAUSTED')
  t.equal(noiseCode(() => cs.decryptWithAd(EMPTY, new Uint8Array(16))), 'NOISE_NONCE_EXHAUSTED')
})

t.test('decryption failure returns null and leaves n unchanged', async (t) => {
  const key = randomBytes(32)
  const a = new CipherState()
  const b = new CipherState()
  a.initializeKey(key)
  b.initializeKey(key)
  const sealed = a.encryptWithAd(EMPTY, Uint8Array.of(1, 2, 3))
  const bad = Uint8Array.from(sealed)
  bad[0]! ^= 1
  t.equal(b.decryptWithAd(EMPTY, bad), null)
  t.equal(b.nonceValue, 0n)
  t.same(b.decryptWithAd(EMPTY, sealed), Uint8Array.of(1, 2, 3))
  t.equal(b.nonceValue, 1n)
  t.equal(b.decryptWithAd(EMPTY, sealed), null, 'a replayed message is refused (n moved on)')
})

t.test('without a key, data passes through (spec); bad keys are refused', async (t) => {
  const cs = new CipherState()
  t.notOk(cs.hasKey())
  t.same(cs.encryptWithAd(EMPTY, Uint8Array.of(5)), Uint8Array.of(5))
  t.throws(() => cs.initializeKey(new Uint8Array(31)))
  t.throws(() => cs.rekey())
  t.throws(() => cs.setNonce(-1n))
})

t.test('rekey: k becomes the first 32 bytes of ENCRYPT(k, 2^64-1, empty, zeros); n kept', async (t) => {
  const key = randomBytes(32)
  const cs = new CipherState()
  cs.initializeKey(key)
  cs.setNonce(5n)
  cs.rekey()
  const maxNonce = new Uint8Array(12).fill(0xff, 4)
  const newKey = aeadSeal(key, maxNonce, EMPTY, new Uint8Array(32)).slice(0, 32)
  t.equal(cs.nonceValue, 5n)
  t.same(cs.encryptWithAd(EMPTY, Uint8Array.of(1)), aeadSeal(newKey, nonceFor(5n), EMPTY, Uint8Array.of(1)))
  cs.wipe()
  t.notOk(cs.hasKey())
})
