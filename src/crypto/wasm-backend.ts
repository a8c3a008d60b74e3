/**
 * The portable backend: libsodium.js (libsodium compiled to WebAssembly).
 *
 * Every call copies its inputs into the WebAssembly heap and its output back out into a
 * fresh `Uint8Array`; the heap copies are freed without being wiped (docs/KEYS.md §6).
 */
import type { CryptoBackend } from './backend.js'
import { sodium } from './sodium.js'

const s = sodium()

export const wasmBackend: CryptoBackend = {
  name: 'wasm',

  randomBytes: (n) => s.randombytes_buf(n),
  randomUniform: (upperBound) => s.randombytes_uniform(upperBound),

  scalarmultBase: (secretKey) => s.crypto_scalarmult_base(secretKey),
  scalarmult: (secretKey, peerPublic) => s.crypto_scalarmult(secretKey, peerPublic),

  aeadEncrypt: (key, nonce, ad, plaintext) => s.crypto_aead_chacha20poly1305_ietf_encrypt(plaintext, ad, null, nonce, key),
  aeadDecrypt (key, nonce, ad, sealed) {
    try {
      return s.crypto_aead_chacha20poly1305_ietf_decrypt(null, sealed, ad, nonce, key)
    } catch {
      return null
    }
  },
  xaeadEncrypt: (key, nonce, ad, plaintext) => s.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, ad, null, nonce, key),
  xaeadDecrypt (key, nonce, ad, sealed) {
    try {
      return s.crypto_aead_xchacha20poly1305_ietf_decrypt(null, sealed, ad, nonce, key)
    } catch {
      return null
    }
  },
  // The into-buffer calls copy libsodium.js's fresh output into `out` (the heap round trip
  // allocates anyway); an opening that fails leaves `out` untouched.
  aeadEncryptInto (out, key, nonce, ad, plaintext) {
    out.set(s.crypto_aead_chacha20poly1305_ietf_encrypt(plaintext, ad, null, nonce, key))
  },
  aeadDecryptInto (out, key, nonce, ad, sealed) {
    const m = wasmBackend.aeadDecrypt(key, nonce, ad, sealed)
    if (m === null) return false
    out.set(m)
    m.fill(0)
    return true
  },
  xaeadEncryptInto (out, key, nonce, ad, plaintext) {
    out.set(s.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, ad, null, nonce, key))
  },
  xaeadDecryptInto (out, key, nonce, ad, sealed) {
    const m = wasmBackend.xaeadDecrypt(key, nonce, ad, sealed)
    if (m === null) return false
    out.set(m)
    m.fill(0)
    return true
  },
  chacha20Xor: (key, nonce, data, counter) => s.crypto_stream_chacha20_ietf_xor_ic(data, nonce, counter, key),

  generichash: (outLen, message, key) => s.crypto_generichash(outLen, message, key),
  kdfDerive: (outLen, id, context, masterKey) => s.crypto_kdf_derive_from_key(outLen, id, context, masterKey),

  signKeyPair (seed) {
    const kp = seed === undefined ? s.crypto_sign_keypair() : s.crypto_sign_seed_keypair(seed)
    return { publicKey: kp.publicKey, secretKey: kp.privateKey }
  },
  signDetached: (secretKey, message) => s.crypto_sign_detached(message, secretKey),
  verifyDetached (publicKey, message, signature) {
    try {
      return s.crypto_sign_verify_detached(signature, message, publicKey)
    } catch {
      return false
    }
  },

  memcmp: (a, b) => s.memcmp(a, b),
  isZero: (a) => s.is_zero(a),
  memzero: (secret) => { secret.fill(0) },
}
