/**
 * Sizes and defaults of the link layer (docs/PROTOCOL.md §8).
 */
import { AEAD_TAG_BYTES } from '../crypto/index.js'

export { HANDSHAKE_MESSAGE_BYTES } from './noise/handshake.js'

/** A frame is one cell sealed with the transport cipher: cellSize + this many bytes. */
export const FRAME_OVERHEAD = AEAD_TAG_BYTES
/** Noise caps every message at 65535 bytes, so a cell can be at most 65535 − 16. */
export const MAX_LINK_CELL_BYTES = 65535 - FRAME_OVERHEAD
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5000
/**
 * How long a started frame may stay incomplete. Generous: a frame is written in one piece,
 * so on a working connection its remainder follows within a round trip.
 */
export const DEFAULT_FRAME_TIMEOUT_MS = 10_000
