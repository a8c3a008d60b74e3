/**
 * The native backend: sodium-native, libsodium compiled for this machine (its package ships
 * prebuilt binaries). About twice as fast as libsodium.js per cell.
 *
 * libsodium reads the caller's arrays in place and writes straight into the one output array
 * each call returns, or into the caller's own (`…Into`, nothing allocated; in place when
 * `out` starts where the input does): no copy into a second heap, nothing left behind to wipe. sodium-native
 * throws where libsodium.js throws (bad lengths, small-order X25519 points) and also on
 * authentication failure, which is mapped to `null` here as in the wasm backend.
 */
import type { CryptoBackend } from './backend.js'

type Bytes = Uint8Array

/** The part of sodium-native's API this backend calls (v5; the package has no types). */
export interface SodiumNative {
  randombytes_buf (buffer: Bytes): void
  randombytes_uniform (upperBound: number): number
  crypto_scalarmult_base (q: Bytes, n: Bytes): void
  crypto_scalarmult (q: Bytes, n: Bytes, p: Bytes): void
  crypto_aead_chacha20poly1305_ietf_encrypt (c: Bytes, m: Bytes, ad: Bytes | null, nsec: null, npub: Bytes, k: Bytes): number
  crypto_aead_chacha20poly1305_ietf_decrypt (m: Bytes, nsec: null, c: Bytes, ad: Bytes | null, npub: Bytes, k: Bytes): number
  crypto_aead_xchacha20poly1305_ietf_encrypt (c: Bytes, m: Bytes, ad: Bytes | null, nsec: null, npub: Bytes, k: Bytes): number
  crypto_aead_xchacha20poly1305_ietf_decrypt (m: Bytes, nsec: null, c: Bytes, ad: Bytes | null, npub: Bytes, k: Bytes): number
  crypto_stream_chacha20_ietf_xor_ic (c: Bytes, m: Bytes, n: Bytes, ic: number, k: Bytes): void
  crypto_generichash (output: Bytes, input: Bytes, key?: Bytes): void
  crypto_kdf_derive_from_key (subkey: Bytes, subkeyId: number, ctx: Bytes, key: Bytes): void
  crypto_sign_keypair (pk: Bytes, sk: Bytes): void
  crypto_sign_seed_keypair (pk: Bytes, sk: Bytes, seed: Bytes): void
  crypto_sign_detached (sig: Bytes, m: Bytes, sk: Bytes): void
  crypto_sign_verify_detached (sig: Bytes, m: Bytes, pk: Bytes): boolean
  sodium_memcmp (a: Bytes, b: Bytes): boolean
  sodium_is_zero (buffer: Bytes): boolean
  sodium_memzero (buffer: Bytes): void
}

const TAG_BYTES = 16

export function createNativeBackend (na: SodiumNative): CryptoBackend {
  // KDF contexts are a handful of constants: encode each once.
  const contexts = new Map<string, Uint8Array>()
  const contextBytes = (context: string): Uint8Array => {
    let bytes = contexts.get(context)
    if (bytes === undefined) {
      bytes = Uint8Array.from(context, (c) => c.charCodeAt(0))
      contexts.set(context, bytes)
    }
    return bytes
  }

  return {
    name: 'native',

    randomBytes (n) {
      const out = new Uint8Array(n)
      na.randombytes_buf(out)
      return out
    },
    randomUniform: (upperBound) => na.randombytes_uniform(upperBound),

    scalarmultBase (secretKey) {
      const q = new Uint8Array(32)
      na.crypto_scalarmult_base(q, secretKey)
      return q
    },
    scalarmult (secretKey, peerPublic) {
      const q = new Uint8Array(32)
      try {
        na.crypto_scalarmult(q, secretKey, peerPublic)
      } catch (err) {
        na.sodium_memzero(q)
        throw err
      }
      return q
    },

    // The allocating calls are the into-buffer ones with a fresh output.
    aeadEncrypt (key, nonce, ad, plaintext) {
      const c = new Uint8Array(plaintext.length + TAG_BYTES)
      this.aeadEncryptInto(c, key, nonce, ad, plaintext)
      return c
    },
    aeadDecrypt (key, nonce, ad, sealed) {
      const m = new Uint8Array(sealed.length - TAG_BYTES)
      return this.aeadDecryptInto(m, key, nonce, ad, sealed) ? m : null
    },
    xaeadEncrypt (key, nonce, ad, plaintext) {
      const c = new Uint8Array(plaintext.length + TAG_BYTES)
      this.xaeadEncryptInto(c, key, nonce, ad, plaintext)
      return c
    },
    xaeadDecrypt (key, nonce, ad, sealed) {
      const m = new Uint8Array(sealed.length - TAG_BYTES)
      return this.xaeadDecryptInto(m, key, nonce, ad, sealed) ? m : null
    },
    aeadEncryptInto (out, key, nonce, ad, plaintext) {
      na.crypto_aead_chacha20poly1305_ietf_encrypt(out, plaintext, ad, null, nonce, key)
    },
    aeadDecryptInto (out, key, nonce, ad, sealed) {
      try {
        na.crypto_aead_chacha20poly1305_ietf_decrypt(out, null, sealed, ad, nonce, key)
      } catch {
        return false
      }
      return true
    },
    xaeadEncryptInto (out, key, nonce, ad, plaintext) {
      na.crypto_aead_xchacha20poly1305_ietf_encrypt(out, plaintext, ad, null, nonce, key)
    },
    xaeadDecryptInto (out, key, nonce, ad, sealed) {
      try {
        na.crypto_aead_xchacha20poly1305_ietf_decrypt(out, null, sealed, ad, nonce, key)
      } catch {
        return false
      }
      return true
    },
    chacha20Xor (key, nonce, data, counter) {
      const out = new Uint8Array(data.length)
      na.crypto_stream_chacha20_ietf_xor_ic(out, data, nonce, counter, key)
      return out
    },

    generichash (outLen, message, key) {
      const out = new Uint8Array(outLen)
      if (key === null) na.crypto_generichash(out, message)
      else na.crypto_generichash(out, message, key)
      return out
    },
    kdfDerive (outLen, id, context, masterKey) {
      const out = new Uint8Array(outLen)
      na.crypto_kdf_derive_from_key(out, id, contextBytes(context), masterKey)
      return out
    },

    signKeyPair (seed) {
      const publicKey = new Uint8Array(32)
      const secretKey = new Uint8Array(64)
      if (seed === undefined) na.crypto_sign_keypair(publicKey, secretKey)
      else na.crypto_sign_seed_keypair(publicKey, secretKey, seed)
      return { publicKey, secretKey }
    },
    signDetached (secretKey, message) {
      const signature = new Uint8Array(64)
      na.crypto_sign_detached(signature, message, secretKey)
      return signature
    },
    verifyDetached: (publicKey, message, signature) => na.crypto_sign_verify_detached(signature, message, publicKey),

    memcmp: (a, b) => na.sodium_memcmp(a, b),
    isZero: (a) => na.sodium_is_zero(a),
    memzero: (secret) => { na.sodium_memzero(secret) },
  }
}
