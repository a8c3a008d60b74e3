/**
 * The primitives `src/crypto/index.ts` needs from libsodium, and nothing more.
 *
 * Two implementations: `native-backend.ts` (sodium-native, libsodium compiled for the
 * machine) and `wasm-backend.ts` (libsodium.js, portable). `select.ts` picks one at
 * `cryptoReady()`. Both return fresh plain `Uint8Array`s (never `Buffer`s, whose `slice`
 * aliases) and must produce the same bytes for the same inputs; index.ts validates inputs
 * and maps failures, so a backend may throw any error where libsodium refuses.
 */

export type BackendName = 'native' | 'wasm'

export interface CryptoBackend {
  readonly name: BackendName

  /** `n` bytes from libsodium's CSPRNG. */
  randomBytes (n: number): Uint8Array
  /** A uniform integer in [0, upperBound), no modulo bias. */
  randomUniform (upperBound: number): number

  /** X25519 public value of a 32-byte secret. */
  scalarmultBase (secretKey: Uint8Array): Uint8Array
  /** X25519; throws on a small-order peer value (libsodium's blocklist). */
  scalarmult (secretKey: Uint8Array, peerPublic: Uint8Array): Uint8Array

  /** ChaCha20-Poly1305-IETF: ciphertext ‖ tag. */
  aeadEncrypt (key: Uint8Array, nonce: Uint8Array, ad: Uint8Array | null, plaintext: Uint8Array): Uint8Array
  /** The plaintext, or `null` if `sealed` (at least a tag long) does not authenticate. */
  aeadDecrypt (key: Uint8Array, nonce: Uint8Array, ad: Uint8Array | null, sealed: Uint8Array): Uint8Array | null
  /** XChaCha20-Poly1305-IETF: ciphertext ‖ tag. */
  xaeadEncrypt (key: Uint8Array, nonce: Uint8Array, ad: Uint8Array | null, plaintext: Uint8Array): Uint8Array
  /** As `aeadDecrypt`, for XChaCha20-Poly1305-IETF. */
  xaeadDecrypt (key: Uint8Array, nonce: Uint8Array, ad: Uint8Array | null, sealed: Uint8Array): Uint8Array | null
  /**
   * The same four AEADs into a caller-given `out` (plaintext + 16 bytes when sealing, sealed −
   * 16 when opening), nothing allocated on the native backend. `out` may start at the same
   * byte as the input (in place, as libsodium allows) or not overlap it at all (index.ts
   * checks). Opening returns false, with `out` untouched on the wasm backend and
   * unspecified on the native one, if `sealed` does not authenticate.
   */
  aeadEncryptInto (out: Uint8Array, key: Uint8Array, nonce: Uint8Array, ad: Uint8Array | null, plaintext: Uint8Array): void
  aeadDecryptInto (out: Uint8Array, key: Uint8Array, nonce: Uint8Array, ad: Uint8Array | null, sealed: Uint8Array): boolean
  xaeadEncryptInto (out: Uint8Array, key: Uint8Array, nonce: Uint8Array, ad: Uint8Array | null, plaintext: Uint8Array): void
  xaeadDecryptInto (out: Uint8Array, key: Uint8Array, nonce: Uint8Array, ad: Uint8Array | null, sealed: Uint8Array): boolean
  /** ChaCha20 (IETF) keystream from block `counter`, XORed over `data`. */
  chacha20Xor (key: Uint8Array, nonce: Uint8Array, data: Uint8Array, counter: number): Uint8Array

  /** BLAKE2b (`crypto_generichash`); `outLen` 16..64, `key` null or 16..64 bytes. */
  generichash (outLen: number, message: Uint8Array, key: Uint8Array | null): Uint8Array
  /** `crypto_kdf_derive_from_key`; `context` is 8 ASCII characters, `id` in [0, 2^31). */
  kdfDerive (outLen: number, id: number, context: string, masterKey: Uint8Array): Uint8Array

  /** A fresh Ed25519 key pair, or the one of a 32-byte seed; `secretKey` is seed ‖ public. */
  signKeyPair (seed?: Uint8Array): { publicKey: Uint8Array, secretKey: Uint8Array }
  signDetached (secretKey: Uint8Array, message: Uint8Array): Uint8Array
  /** `signature` is 64 bytes and `publicKey` 32 (checked by the caller). */
  verifyDetached (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean

  /** Constant-time equality of two arrays of the same length. */
  memcmp (a: Uint8Array, b: Uint8Array): boolean
  /** Constant-time all-zero test. */
  isZero (a: Uint8Array): boolean
  /** Overwrite with zeros in a way the compiler cannot drop. */
  memzero (secret: Uint8Array): void
}
