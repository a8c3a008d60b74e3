/**
 * Noise Rekey() against answers computed without our code: REKEY(k) is the first 32 bytes of
 * ChaChaPoly ENCRYPT(k, n = 2^64-1, ad = empty, 32 zero bytes), i.e. the ChaCha20 keystream at
 * block counter 1 under nonce 00000000 ‖ ff×8. The hex was computed by a separate ChaCha20
 * (RFC 8439 §2.3 block function, written out in Python) and matches libsodium both ways.
 */
import t from 'tap'
import { cryptoReady } from '../../../src/crypto/index.js'
import { sodium } from '../../../src/crypto/sodium.js'
import { CipherState } from '../../../src/link/noise/cipher-state.js'

await cryptoReady()

const EMPTY = new Uint8Array(0)
const KEY = Uint8Array.from({ length: 32 }, (_, i) => i)
const REKEYED = '50835543a205b22c9323f2022bc4f67d838f90e61d5ccf33c4513e01f85b5042'
const MAX_NONCE = new Uint8Array(12).fill(0xff, 4)

function hex (bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex')
}

function nonceFor (n: bigint): Uint8Array {
  const nonce = new Uint8Array(12)
  new DataView(nonce.buffer).setBigUint64(4, n, true)
  return nonce
}

t.test('REKEY(00 01 … 1f): libsodium AEAD and keystream agree with the recorded vector', async (t) => {
  const s = sodium()
  const viaAead = s.crypto_aead_chacha20poly1305_ietf_encrypt(new Uint8Array(32), null, null, MAX_NONCE, KEY).subarray(0, 32)
  const viaStream = s.crypto_stream_chacha20_ietf_xor_ic(new Uint8Array(32), MAX_NONCE, 1, KEY)
  t.equal(hex(viaAead), REKEYED, 'first 32 bytes of ENCRYPT(k, 2^64-1, empty, zeros)')
  t.equal(hex(viaStream), REKEYED, 'ChaCha20 keystream block 1 at nonce 2^64-1')
})

t.test('CipherState.rekey() seals with REKEY(k) from then on, at the nonce it had reached', async (t) => {
  const s = sodium()
  const rekeyed = Uint8Array.from(Buffer.from(REKEYED, 'hex'))
  const message = Uint8Array.of(1, 2, 3, 4)
  const cs = new CipherState()
  cs.initializeKey(KEY)
  cs.setNonce(42n)
  cs.rekey()
  t.equal(cs.nonceValue, 42n, 'Rekey() does not reset n')
  t.equal(hex(cs.encryptWithAd(EMPTY, message)), hex(s.crypto_aead_chacha20poly1305_ietf_encrypt(message, null, null, nonceFor(42n), rekeyed)))
  cs.rekey()
  const twice = s.crypto_aead_chacha20poly1305_ietf_encrypt(new Uint8Array(32), null, null, MAX_NONCE, rekeyed).subarray(0, 32)
  t.equal(hex(cs.encryptWithAd(EMPTY, message)), hex(s.crypto_aead_chacha20poly1305_ietf_encrypt(message, null, null, nonceFor(43n), twice)), 'rekeys chain')
})

t.test('exhausted and nonceHeadroom track the reserved nonce 2^64-1', async (t) => {
  const cs = new CipherState()
  cs.initializeKey(KEY)
  t.equal(cs.exhausted, false)
  t.ok(cs.nonceHeadroom > 2 ** 53, 'plenty at n = 0')
  cs.setNonce(0xfffffffffffffffdn)
  t.equal(cs.nonceHeadroom, 2)
  cs.encryptWithAd(EMPTY, EMPTY)
  cs.encryptWithAd(EMPTY, EMPTY)
  t.equal(cs.nonceHeadroom, 0)
  t.equal(cs.exhausted, true)
  cs.setNonce(0xfffffffe_ffffffffn)
  t.equal(cs.nonceHeadroom, 2 ** 32, 'exact across the 32-bit halves')
})
