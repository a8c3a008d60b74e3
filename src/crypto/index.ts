/**
 * The one crypto interface of mixgate.
 *
 * Everything else in the project uses only these functions. They run on one of two
 * backends chosen at `cryptoReady()` (select.ts): sodium-native, or libsodium.js as the
 * portable fallback; both give the same bytes. All inputs and outputs are plain
 * `Uint8Array`s; keys are never turned into strings.
 *
 * Failure convention: authentication failures return `null` (they are expected on the data
 * path and must be cheap and uniform); malformed key material from a peer throws a
 * `CryptoError` with a stable code (it is a protocol violation, handled by the caller).
 */
import { randomFillSync } from 'node:crypto'
import { CryptoError } from './errors.js'
import { backend as b } from './select.js'

export { cryptoBackend, cryptoReady } from './select.js'
export type { BackendName } from './backend.js'
export { CryptoError }

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
export const BLAKE2B_BYTES_MIN = 16
export const BLAKE2B_BYTES_MAX = 64

export interface KeyPair {
  readonly publicKey: Uint8Array
  readonly secretKey: Uint8Array
}

// --- randomness -----------------------------------------------------------------------

/**
 * Small random values (backward nonces: one per layer per cell) come from a pool refilled in
 * bulk from the system CSPRNG: one `randomFillSync` call per 16 KiB instead of one per nonce,
 * which otherwise dominates the per-cell cost. Bytes handed out are wiped from the pool.
 * Under Node, libsodium.js draws from the same `randomFillSync` (sodium-native: getrandom).
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
  return b.randomUniform(upperBound)
}

// --- X25519 ---------------------------------------------------------------------------

/** A fresh X25519 key pair, or the one determined by a 32-byte secret (for test vectors). */
export function x25519KeyPair (secretKey?: Uint8Array): KeyPair {
  const sk = secretKey === undefined ? b.randomBytes(X25519_KEY_BYTES) : Uint8Array.from(secretKey)
  if (sk.length !== X25519_KEY_BYTES) throw new CryptoError('CRYPTO_BAD_KEY', 'X25519 secret key must be 32 bytes')
  return { publicKey: b.scalarmultBase(sk), secretKey: sk }
}

/**
 * X25519 with a peer's public value.
 *
 * Guarded: a value of the wrong length, a non-canonical encoding (bit 255 set), one of the
 * small-order points libsodium blocklists, or an all-zero result throws
 * `CryptoError('CRYPTO_BAD_POINT')`. Both backends throw a plain Error for the last two;
 * we translate so that callers handle one typed error and peers can never crash a node.
 */
export function x25519 (secretKey: Uint8Array, peerPublic: Uint8Array): Uint8Array {
  if (peerPublic.length !== X25519_KEY_BYTES || (peerPublic[31]! & 0x80) !== 0) {
    throw new CryptoError('CRYPTO_BAD_POINT', 'peer X25519 value is malformed')
  }
  let shared: Uint8Array
  try {
    shared = b.scalarmult(secretKey, peerPublic)
  } catch (err) {
    throw new CryptoError('CRYPTO_BAD_POINT', 'peer X25519 value has small order', { cause: err })
  }
  if (b.isZero(shared)) throw new CryptoError('CRYPTO_BAD_POINT', 'X25519 result is zero')
  return shared
}

// --- AEAD -----------------------------------------------------------------------------

/** ChaCha20-Poly1305 (IETF, 96-bit nonce): ciphertext ‖ 16-byte tag. */
export function aeadSeal (key: Uint8Array, nonce: Uint8Array, ad: Uint8Array | null, plaintext: Uint8Array): Uint8Array {
  return b.aeadEncrypt(key, nonce, ad, plaintext)
}

/** Opens `aeadSeal`'s output; `null` if it does not authenticate. */
export function aeadOpen (key: Uint8Array, nonce: Uint8Array, ad: Uint8Array | null, sealed: Uint8Array): Uint8Array | null {
  if (sealed.length < AEAD_TAG_BYTES) return null
  return b.aeadDecrypt(key, nonce, ad, sealed)
}

/** XChaCha20-Poly1305 (192-bit nonce, safe to draw at random): ciphertext ‖ 16-byte tag. */
export function xaeadSeal (key: Uint8Array, nonce: Uint8Array, ad: Uint8Array | null, plaintext: Uint8Array): Uint8Array {
  return b.xaeadEncrypt(key, nonce, ad, plaintext)
}

/** Opens `xaeadSeal`'s output; `null` if it does not authenticate. */
export function xaeadOpen (key: Uint8Array, nonce: Uint8Array, ad: Uint8Array | null, sealed: Uint8Array): Uint8Array | null {
  if (sealed.length < AEAD_TAG_BYTES) return null
  return b.xaeadDecrypt(key, nonce, ad, sealed)
}

/**
 * Checks of the into-buffer calls: `out` is exactly `outBytes` long and either starts at the
 * same byte as `input` (in place) or does not overlap it (libsodium allows nothing between).
 */
function checkInto (out: Uint8Array, outBytes: number, input: Uint8Array): void {
  if (out.length !== outBytes) throw new CryptoError('CRYPTO_BAD_LENGTH', `the output must be ${outBytes} bytes, got ${out.length}`)
  if (out.buffer !== input.buffer || out.byteOffset === input.byteOffset) return
  const outEnd = out.byteOffset + out.length
  const inEnd = input.byteOffset + input.length
  if (out.byteOffset < inEnd && input.byteOffset < outEnd) {
    throw new CryptoError('CRYPTO_BAD_LENGTH', 'the output overlaps the input other than in place')
  }
}

/**
 * `aeadSeal` into `out` (exactly plaintext + 16 bytes): nothing allocated on the native
 * backend. `out` may begin at `plaintext`'s first byte (sealed in place) or lie apart from it.
 */
export function aeadSealInto (out: Uint8Array, key: Uint8Array, nonce: Uint8Array, ad: Uint8Array | null, plaintext: Uint8Array): void {
  checkInto(out, plaintext.length + AEAD_TAG_BYTES, plaintext)
  b.aeadEncryptInto(out, key, nonce, ad, plaintext)
}

/**
 * `aeadOpen` into `out` (exactly sealed − 16 bytes; in place or apart, as `aeadSealInto`).
 * False if `sealed` does not authenticate; `out`'s content is then unspecified.
 */
export function aeadOpenInto (out: Uint8Array, key: Uint8Array, nonce: Uint8Array, ad: Uint8Array | null, sealed: Uint8Array): boolean {
  if (sealed.length < AEAD_TAG_BYTES) return false
  checkInto(out, sealed.length - AEAD_TAG_BYTES, sealed)
  return b.aeadDecryptInto(out, key, nonce, ad, sealed)
}

/** `xaeadSeal` into `out`, as `aeadSealInto`. */
export function xaeadSealInto (out: Uint8Array, key: Uint8Array, nonce: Uint8Array, ad: Uint8Array | null, plaintext: Uint8Array): void {
  checkInto(out, plaintext.length + AEAD_TAG_BYTES, plaintext)
  b.xaeadEncryptInto(out, key, nonce, ad, plaintext)
}

/** `xaeadOpen` into `out`, as `aeadOpenInto`. */
export function xaeadOpenInto (out: Uint8Array, key: Uint8Array, nonce: Uint8Array, ad: Uint8Array | null, sealed: Uint8Array): boolean {
  if (sealed.length < AEAD_TAG_BYTES) return false
  checkInto(out, sealed.length - AEAD_TAG_BYTES, sealed)
  return b.xaeadDecryptInto(out, key, nonce, ad, sealed)
}

/**
 * The raw ChaCha20 (IETF) keystream XORed over `data`, starting at block `counter`, an
 * integer in [0, 2^31) (libsodium.js's limit; checked here so both backends agree).
 */
export function chacha20Xor (key: Uint8Array, nonce: Uint8Array, data: Uint8Array, counter = 0): Uint8Array {
  if ((counter | 0) !== counter || counter < 0) throw new CryptoError('CRYPTO_BAD_LENGTH', 'ChaCha20 block counter must be an integer in [0, 2^31)')
  return b.chacha20Xor(key, nonce, data, counter)
}

// --- hashing and key derivation -------------------------------------------------------

/**
 * BLAKE2b with output length `outLen` (16..64), keyed when `key` is given (a MAC/PRF; 16..64
 * bytes, or empty for unkeyed). Lengths outside libsodium's advertised ranges throw
 * `CRYPTO_BAD_LENGTH` here, identically on both backends (sodium-native enforces them,
 * libsodium.js does not).
 */
export function blake2b (outLen: number, message: Uint8Array, key?: Uint8Array): Uint8Array {
  if (!Number.isInteger(outLen) || outLen < BLAKE2B_BYTES_MIN || outLen > BLAKE2B_BYTES_MAX) {
    throw new CryptoError('CRYPTO_BAD_LENGTH', 'BLAKE2b output must be 16 to 64 bytes')
  }
  if (key === undefined || key.length === 0) return b.generichash(outLen, message, null)
  if (key.length < BLAKE2B_BYTES_MIN || key.length > BLAKE2B_BYTES_MAX) {
    throw new CryptoError('CRYPTO_BAD_LENGTH', 'BLAKE2b key must be 16 to 64 bytes')
  }
  return b.generichash(outLen, message, key)
}

/**
 * libsodium's `crypto_kdf_derive_from_key`: subkey number `id` of a uniform 32-byte master
 * key, under an 8-byte context (BLAKE2b with the id as salt and the context as personal).
 */
export function kdf (outLen: number, id: number, context: string, masterKey: Uint8Array): Uint8Array {
  if (context.length !== KDF_CONTEXT_BYTES || !/^[\x00-\x7f]*$/.test(context)) {
    throw new CryptoError('CRYPTO_BAD_CONTEXT', 'KDF context must be 8 ASCII characters')
  }
  if ((id | 0) !== id || id < 0) throw new CryptoError('CRYPTO_BAD_LENGTH', 'KDF subkey id must be an integer in [0, 2^31)')
  return b.kdfDerive(outLen, id, context, masterKey)
}

// --- signatures -----------------------------------------------------------------------

/** A fresh Ed25519 key pair, or the one determined by a 32-byte seed. */
export function ed25519KeyPair (seed?: Uint8Array): KeyPair {
  return b.signKeyPair(seed)
}

export function sign (secretKey: Uint8Array, message: Uint8Array): Uint8Array {
  return b.signDetached(secretKey, message)
}

/** `true` only for a valid signature by `publicKey`; malformed input is simply invalid. */
export function verify (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== ED25519_PUBLIC_BYTES || signature.length !== ED25519_SIGNATURE_BYTES) return false
  return b.verifyDetached(publicKey, message, signature)
}

// --- secrets hygiene ------------------------------------------------------------------

/** Constant-time equality; different lengths are simply unequal (lengths are public). */
export function equal (x: Uint8Array, y: Uint8Array): boolean {
  if (x.length !== y.length) return false
  return b.memcmp(x, y)
}

/** Constant-time test that every byte is zero. */
export function isZero (a: Uint8Array): boolean {
  return b.isZero(a)
}

/**
 * Overwrite a secret with zeros (sodium_memzero on the native backend). This erases the
 * caller's array only: libsodium.js also leaves unwiped copies in its WebAssembly heap,
 * sodium-native makes none (docs/KEYS.md §6).
 */
export function memzero (secret: Uint8Array): void {
  b.memzero(secret)
}
