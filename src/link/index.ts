/**
 * The link layer: Noise NK/KK over TCP carrying fixed-size cells (docs/PROTOCOL.md §8).
 */
export { dialLink, type DialOptions } from './dial.js'
export { listenLinks, LinkListener, type ListenOptions, type ListenerStats } from './listen.js'
export { Link, type LinkEvents } from './link.js'
export { LinkError, LinkErrorCode } from './errors.js'
export { BATCH_HEADER_BYTES, BATCH_OVERHEAD, HANDSHAKE_MESSAGE_BYTES, MAX_LINK_CELL_BYTES, DEFAULT_FRAME_TIMEOUT_MS, DEFAULT_HANDSHAKE_TIMEOUT_MS, linkWriteBytes, maxCellsPerBatch } from './constants.js'
export type { HandshakePattern } from './noise/handshake.js'
