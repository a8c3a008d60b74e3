/**
 * The one-way onion-key ratchet (DESIGN-REVIEW R14): from the seed of epoch e a node can
 * compute the onion key of e and of every later epoch, and nothing earlier.
 *
 *   seed_{e+1} = BLAKE2b-256("mixgate/v1/ratchet" ‖ seed_e)            (unkeyed, 32-byte output)
 *   sk_e       = crypto_kdf_derive_from_key(32, 1, "mgonion1", seed_e)  (BLAKE2b, key = seed_e,
 *                                                                         salt = id, personal = ctx)
 *   pk_e       = X25519_base(sk_e)                                     (X25519 clamps sk_e itself)
 *
 * Separate functions for "next seed" and "key of this seed" mean that the published key of
 * epoch e says nothing about seed_e (the KDF is one-way), and seed_{e+1} says nothing about
 * seed_e (BLAKE2b is one-way). Erasing seed_e after moving to seed_{e+1} therefore erases
 * every key of epoch e and before: that is the forward secrecy an epoch gives.
 *
 * Seeds and keys are Uint8Array only. Every intermediate this file makes is wiped before it
 * returns; inputs belong to the caller. test/fixtures/vectors/ratchet.json pins the bytes.
 */
import { blake2b, kdf, memzero, x25519KeyPair, type KeyPair } from '../../crypto/index.js'
import { KeysError, KeysErrorCode } from '../../protocol/keys-errors.js'

export const SEED_BYTES = 32
export const RATCHET_LABEL = new TextEncoder().encode('mixgate/v1/ratchet')
/** libsodium KDF context (exactly 8 bytes) of onion secret keys. */
export const ONION_KDF_CONTEXT = 'mgonion1'
/** Subkey id of the onion secret key under ONION_KDF_CONTEXT. Never reuse or renumber. */
export const ONION_SUBKEY_ID = 1
/** Moving a seed more than this many epochs at once is a clock or config mistake (≈114 years of hours). */
export const MAX_RATCHET_STEPS = 1_000_000

/** seed_{e+1} from seed_e (a fresh array; `seed` is left alone). */
export function nextSeed (seed: Uint8Array): Uint8Array {
  checkSeed(seed)
  const message = new Uint8Array(RATCHET_LABEL.length + SEED_BYTES)
  message.set(RATCHET_LABEL, 0)
  message.set(seed, RATCHET_LABEL.length)
  const next = blake2b(SEED_BYTES, message)
  memzero(message)
  return next
}

/** seed_{e+steps} from seed_e; every intermediate seed is wiped. */
export function ratchetSeed (seed: Uint8Array, steps: number): Uint8Array {
  if (!Number.isSafeInteger(steps) || steps < 0 || steps > MAX_RATCHET_STEPS) {
    throw new KeysError(KeysErrorCode.BAD_EPOCH, `cannot move the onion-key ratchet by ${steps} epochs`)
  }
  checkSeed(seed)
  let current: Uint8Array = Uint8Array.from(seed)
  for (let i = 0; i < steps; i++) {
    const next = nextSeed(current)
    memzero(current)
    current = next
  }
  return current
}

/** sk_e, the X25519 onion secret key of the epoch whose seed is `seed`. */
export function onionSecretKey (seed: Uint8Array): Uint8Array {
  checkSeed(seed)
  return kdf(32, ONION_SUBKEY_ID, ONION_KDF_CONTEXT, seed)
}

/** (sk_e, pk_e) for the epoch whose seed is `seed`. The caller wipes `secretKey` after use. */
export function onionKeyPair (seed: Uint8Array): KeyPair {
  const secretKey = onionSecretKey(seed)
  const pair = x25519KeyPair(secretKey)
  memzero(secretKey) // x25519KeyPair copied it into pair.secretKey
  return pair
}

function checkSeed (seed: Uint8Array): void {
  if (seed.length !== SEED_BYTES) {
    throw new KeysError(KeysErrorCode.CORRUPT, `an onion-key seed must be ${SEED_BYTES} bytes`)
  }
}
