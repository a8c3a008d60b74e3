/**
 * Per-hop key derivation: extract-then-expand, bound to the transcript (R15).
 *
 *   s_i   = X25519(e_i, Y_i)                                  (client: e_i secret, Y_i hop's epoch key)
 *   prk_i = BLAKE2b-256(key = s_i, "mixgate/v1/hop" ‖ cascadeId(32) ‖ epoch(8, BE) ‖ i(1) ‖ E_i(32) ‖ Y_i(32))
 *   k     = crypto_kdf_derive_from_key(32, id, "mgcirc01", prk_i)   id: 1 header, 2 forward, 3 backward
 *   tag   = crypto_kdf_derive_from_key(16, 4,  "mgcirc01", prk_i)   the replay tag
 *
 * Raw X25519 output is not a uniform key, hence the keyed-BLAKE2b extract step before
 * libsodium's KDF. Binding the cascade, epoch, position and both public values means a
 * header built for one hop, epoch or cascade can never be opened as another.
 */
import { blake2b, kdf, memzero, X25519_KEY_BYTES } from '../crypto/index.js'
import { CIRCUIT_KDF_CONTEXT, HOP_EXTRACT_LABEL, SubkeyId } from './labels.js'

export const CASCADE_ID_BYTES = 32
export const EPOCH_BYTES = 8
export const LAYER_KEY_BYTES = 32
export const REPLAY_TAG_BYTES = 16

/** What one hop and the client share for one circuit: a key per direction. */
export interface HopKeys {
  readonly forward: Uint8Array
  readonly backward: Uint8Array
}

export interface DerivedHop {
  readonly headerKey: Uint8Array
  readonly keys: HopKeys
  readonly replayTag: Uint8Array
}

/** The transcript every derivation is bound to. */
export interface CircuitBinding {
  /** 32 bytes naming the cascade (a hash of its descriptor). */
  readonly cascadeId: Uint8Array
  /** The epoch whose onion keys built this circuit. */
  readonly epoch: number
}

export function encodeEpoch (epoch: number, out = new Uint8Array(EPOCH_BYTES), offset = 0): Uint8Array {
  new DataView(out.buffer, out.byteOffset, out.byteLength).setBigUint64(offset, BigInt(epoch), false)
  return out
}

/** Derive every per-hop secret from the shared secret; the caller wipes `shared`. */
export function deriveHop (shared: Uint8Array, binding: CircuitBinding, position: number, ephemeralPublic: Uint8Array, hopPublic: Uint8Array): DerivedHop {
  const label = HOP_EXTRACT_LABEL
  const info = new Uint8Array(label.length + CASCADE_ID_BYTES + EPOCH_BYTES + 1 + 2 * X25519_KEY_BYTES)
  let o = 0
  info.set(label, o); o += label.length
  info.set(binding.cascadeId, o); o += CASCADE_ID_BYTES
  encodeEpoch(binding.epoch, info, o); o += EPOCH_BYTES
  info[o++] = position
  info.set(ephemeralPublic, o); o += X25519_KEY_BYTES
  info.set(hopPublic, o)
  const prk = blake2b(32, info, shared)
  const derived: DerivedHop = {
    headerKey: kdf(LAYER_KEY_BYTES, SubkeyId.HEADER, CIRCUIT_KDF_CONTEXT, prk),
    keys: {
      forward: kdf(LAYER_KEY_BYTES, SubkeyId.FORWARD, CIRCUIT_KDF_CONTEXT, prk),
      backward: kdf(LAYER_KEY_BYTES, SubkeyId.BACKWARD, CIRCUIT_KDF_CONTEXT, prk),
    },
    replayTag: kdf(REPLAY_TAG_BYTES, SubkeyId.REPLAY_TAG, CIRCUIT_KDF_CONTEXT, prk),
  }
  memzero(prk)
  return derived
}

