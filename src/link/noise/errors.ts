/**
 * The one error type of the Noise core (`src/link/noise/`).
 *
 * Codes: `NOISE_DECRYPT_FAILED` (a handshake message did not authenticate),
 * `NOISE_BAD_MESSAGE` (wrong length), `NOISE_PAYLOAD_NOT_EMPTY` (mixgate sends nothing inside
 * the handshake), `NOISE_BAD_KEY` (a peer's DH value was rejected), `NOISE_NONCE_EXHAUSTED`
 * (n reached 2^64-1), `NOISE_MISSING_KEY` and `NOISE_STATE` (misuse by the caller). The link
 * layer turns these into `LinkError`s; messages never contain key material.
 */
import { MixgateError } from '../../errors.js'

export class NoiseError extends MixgateError {}
