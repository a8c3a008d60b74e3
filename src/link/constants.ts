/**
 * Sizes and defaults of the link layer (docs/PROTOCOL.md §8).
 */
export { HANDSHAKE_MESSAGE_BYTES } from './noise/handshake.js'
export { BATCH_HEADER_BYTES, BATCH_OVERHEAD, MAX_LINK_CELL_BYTES, linkWriteBytes, maxCellsPerBatch } from './batch-format.js'

export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5000
/**
 * How long a started batch may stay incomplete. Generous: a write is made in one piece,
 * so on a working connection the rest of a batch follows within a round trip.
 */
export const DEFAULT_FRAME_TIMEOUT_MS = 10_000
