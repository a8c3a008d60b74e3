/**
 * Domain-separation labels: every hash, KDF and AEAD in the protocol is bound to one of these,
 * so that no value computed for one purpose can ever be accepted for another (R15).
 */
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s)

/** Prefix of every label; bumping the version makes every derived key different. */
export const PROTOCOL_LABEL = ascii('mixgate/v1')
/** Message of the per-hop extract step: prk_i = BLAKE2b-256(key = s_i, HOP ‖ …). */
export const HOP_EXTRACT_LABEL = ascii('mixgate/v1/hop')
/** Associated data prefix of each onion (CREATE header) layer. */
export const CREATE_AD_LABEL = ascii('mixgate/v1/create')
/** libsodium KDF context (exactly 8 bytes) for the subkeys of one circuit hop. */
export const CIRCUIT_KDF_CONTEXT = 'mgcirc01'

/** Subkey ids under CIRCUIT_KDF_CONTEXT. Never reuse or renumber. */
export const SubkeyId = {
  HEADER: 1,
  FORWARD: 2,
  BACKWARD: 3,
  REPLAY_TAG: 4,
} as const
/** Associated data of a LOOP probe (loop-probe.ts): only the client that sent it can open it. */
export const LOOP_PROBE_AD = ascii('mixgate/v1/loop')
