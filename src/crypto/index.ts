/**
 * The one crypto interface of mixgate.
 *
 * Everything else in the project uses only these functions, so that a native backend
 * (sodium-native, with mlock'd memory) can replace libsodium.js without touching protocol
 * code. All inputs and outputs are `Uint8Array`; keys are never turned into strings.
 *
 * Failure convention: authentication failures return `null` (they are expected on the data
 * path and must be cheap and uniform); malformed key material from a peer throws a
 * `CryptoError` with a stable code (it is a protocol violation, handled by the caller).
 */
import { randomFillSync } from 'node:crypto'
import { MixgateError } from '../errors.js'
import { sodium } from './sodium.js'

export { cryptoReady } from './sodium.js'

export const X25519_KEY_BYTES = 32
export const AEAD_KEY_BYTES = 32
export const AEAD_NONCE_BYTES = 12
export const XAEAD_NONCE_BYTES = 24
export const AEAD_TAG_BYTES = 16
export const ED25519_PUBLIC_BYTES = 32
export const ED25519_SECRET_BYTES = 64
export const ED25519_SEED_BYTES = 32
export const ED25519_SIGNATURE_BYTES = 64
export const KDF_CONTEXT_BYTES = 8

export class CryptoError extends MixgateError {}

export interface KeyPair {
  readonly publicKey: Uint8Array
  readonly secretKey: Uint8Array
}

// --- randomness -----------------------------------------------------------------------

/**
 * Small random values (backward nonces: one per layer per cell) come from a pool refilled in
 * bulk from the system CSPRNG: one `randomFillSync` call per 16 KiB instead of one per nonce,
 * which otherwise dominates the per-cell cost. Bytes handed out are wiped from the pool.
 * Under Node, libsodium.js draws from the same `randomFillSync`.
 */
const POOL_BYTES = 16384
const SMALL_DRAW = 256
const pool = new Uint8Array(POOL_BYTES)
let poolPosition = POOL_BYTES

/** Fill `bytes` from the system CSPRNG. */
export function randomFill (bytes: Uint8Array): void {
  const n = bytes.length
  if (n > SMALL_DRAW) { randomFillSync(bytes); return }
  if (poolPosition + n > POOL_BYTES) {
    randomFillSync(pool)
    poolPosition = 0
  }
  bytes.set(pool.subarray(poolPosition, poolPosition + n))
  pool.fill(0, poolPosition, poolPosition + n)
  poolPosition += n
}

/** `n` fresh bytes from the system CSPRNG. */
export function randomBytes (n: number): Uint8Array {
  const out = new Uint8Array(n)
  randomFill(out)
  return out
}

/** A uniform 32-bit unsigned integer from the system CSPRNG. */
export function randomUint32 (): number {
  return randomFillSync(new Uint32Array(1))[0]!
}


/** A uniform integer in [0, upperBound) from libsodium's CSPRNG (no modulo bias). */
export function randomUniform (upperBound: number): number {
  return sodium().randombytes_uniform(upperBound)
}

// --- X25519 ---------------------------------------------------------------------------

/** A fresh X25519 key pair, or the one determined by a 32-byte secret (for test vectors). */
export function x25519KeyPair (secretKey?: Uint8Array): KeyPair {
  const s = sodium()
  const sk = secretKey === undefined ? s.randombytes_buf(X25519_KEY_BYTES) : Uint8Array.from(secretKey)
  if (sk.length !== X25519_KEY_BYTES) throw new CryptoError('CRYPTO_BAD_KEY', 'X25519 secret key must be 32 bytes')
  return { publicKey: s.crypto_scalarmult_base(sk), secretKey: sk }
}

/**
 * X25519 with a peer's public value.
 *
 * Guarded: a value of the wrong length, a non-canonical encoding (bit 255 set), one of the
 * small-order points libsodium blocklists, or an all-zero result throws
 * `CryptoError('CRYPTO_BAD_POINT')`. libsodium.js throws a plain Error for the last two;
 * we translate so that callers handle one typed error and peers can never crash a node.
 */
export function x25519 (secretKey: Uint8Array, peerPublic: Uint8Array): Uint8Array {
  if (peerPublic.length !== X25519_KEY_BYTES || (peerPublic[31]! & 0x80) !== 0) {
    throw new CryptoError('CRYPTO_BAD_POINT', 'peer X25519 value is malformed')
  }
  let shared: Uint8Array
  try {
    shared = sodium().crypto_scalarmult(secretKey, peerPublic)
  } catch (err) {
    throw new CryptoError('CRYPTO_BAD_POINT', 'peer X25519 value has small order', { cause: err })
  }
  if (sodium().is_zero(shared)) throw new CryptoError('CRYPTO_BAD_POINT', 'X25519 result is zero')
  return shared
}

// --- AEAD -----------------------------------------------------------------------------

/** ChaCha20-Poly1305 (IETF, 96-bit nonce): ciphertext ‖ 16-byte tag. */
export function aeadSeal (key: Uint8Array, nonce: Uint8Array, ad: Uint8Array | null, plaintext: Uint8Array): Uint8Array {
  return sodium().crypto_aead_chacha20poly1305_ietf_encrypt(plaintext, ad, null, nonce, key)
}

/** Opens `aeadSeal`'s output; `null` if it does not authenticate. */
export function aeadOpen (key: Uint8Array, nonce: Uint8Array, ad: Uint8Array | null, sealed: Uint8Array): Uint8Array | null {
  if (sealed.length < AEAD_TAG_BYTES) return null
  try {
    return sodium().crypto_aead_chacha20poly1305_ietf_decrypt(null, sealed, ad, nonce, key)
  } catch {
    return null
  }
}

/** XChaCha20-Poly1305 (192-bit nonce, safe to draw at random): ciphertext ‖ 16-byte tag. */
export function xaeadSeal (key: Uint8Array, nonce: Uint8Array, ad: Uint8Array | null, plaintext: Uint8Array): Uint8Array {
  return sodium().crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, ad, null, nonce, key)
}

/** Opens `xaeadSeal`'s output; `null` if it does not authenticate. */
export function xaeadOpen (key: Uint8Array, nonce: Uint8Array, ad: Uint8Array | null, sealed: Uint8Array): Uint8Array | null {
  if (sealed.length < AEAD_TAG_BYTES) return null
  try {
    return sodium().crypto_aead_xchacha20poly1305_ietf_decrypt(null, sealed, ad, nonce, key)
  } catch {
    return null
  }
}

/** The raw ChaCha20 (IETF) keystream XORed over `data`, starting at block `counter`. */
export function chacha20Xor (key: Uint8Array, nonce: Uint8Array, data: Uint8Array, counter = 0): Uint8Array {
  return sodium().crypto_stream_chacha20_ietf_xor_ic(data, nonce, counter, key)
}

// --- hashing and key derivation -------------------------------------------------------

/** BLAKE2b with output length `outLen` (16..64), keyed when `key` is given (a MAC/PRF). */
export function blake2b (outLen: number, message: Uint8Array, key?: Uint8Array): Uint8Array {
  return sodium().crypto_generichash(outLen, message, key ?? null)
}

/**
 * libsodium's `crypto_kdf_derive_from_key`: subkey number `id` of a uniform 32-byte master
 * key, under an 8-byte context (BLAKE2b with the id as salt and the context as personal).
 */
export function kdf (outLen: number, id: number, context: string, masterKey: Uint8Array): Uint8Array {
  if (context.length !== KDF_CONTEXT_BYTES) throw new CryptoError('CRYPTO_BAD_CONTEXT', 'KDF context must be 8 characters')
  return sodium().crypto_kdf_derive_from_key(outLen, id, context, masterKey)
}

// --- signatures -----------------------------------------------------------------------

/** A fresh Ed25519 key pair, or the one determined by a 32-byte seed. */
export function ed25519KeyPair (seed?: Uint8Array): KeyPair {
  const s = sodium()
  const kp = seed === undefined ? s.crypto_sign_keypair() : s.crypto_sign_seed_keypair(seed)
  return { publicKey: kp.publicKey, secretKey: kp.privateKey }
}

export function sign (secretKey: Uint8Array, message: Uint8Array): Uint8Array {
  return sodium().crypto_sign_detached(message, secretKey)
}

/** `true` only for a valid signature by `publicKey`; malformed input is simply invalid. */
export function verify (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== ED25519_PUBLIC_BYTES || signature.length !== ED25519_SIGNATURE_BYTES) return false
  try {
    return sodium().crypto_sign_verify_detached(signature, message, publicKey)
  } catch {
    return false
  }
}

// --- secrets hygiene ------------------------------------------------------------------

/** Constant-time equality; different lengths are simply unequal (lengths are public). */
export function equal (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  return sodium().memcmp(a, b)
}

/** Constant-time test that every byte is zero. */
export function isZero (a: Uint8Array): boolean {
  return sodium().is_zero(a)
}

/**
 * Overwrite a secret with zeros. Best effort on this platform: libsodium.js copies inputs
 * into its WebAssembly heap and frees them without wiping (docs/KEYS.md §6 says so).
 */
export function memzero (secret: Uint8Array): void {
  secret.fill(0)
}
