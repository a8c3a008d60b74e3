/**
 * Flow-control windows both circuit endpoints (client and exit) agree on (PROTOCOL.md §7.1).
 *
 * SENDME-like credit, counted in DATA cells, as Tor's fixed windows: a sender may have at most
 * STREAM_WINDOW unacknowledged DATA cells on one stream and CIRCUIT_WINDOW on one circuit. The
 * receiver returns one increment of stream credit each time it has *delivered* that many
 * cells to its socket (so a slow reader stops the sender, and nobody buffers more than a
 * window), and one increment of circuit credit each time it has received that many.
 */
export const CIRCUIT_WINDOW = 1000
export const CIRCUIT_SENDME_INCREMENT = 100
export const STREAM_WINDOW = 500
export const STREAM_SENDME_INCREMENT = 50
