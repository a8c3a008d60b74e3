/**
 * Flow-control windows both circuit endpoints (client and exit) agree on (PROTOCOL.md §7.1).
 *
 * SENDME-like credit, counted in DATA cells, as Tor's fixed windows: a sender may have at most
 * STREAM_WINDOW unacknowledged DATA cells on one stream and CIRCUIT_WINDOW on one circuit. The
 * receiver enforces both (a cell beyond either ends its stream with END(PROTOCOL)) and returns
 * one increment of credit each time it has *delivered* that many cells to its sockets (cells
 * it dropped count too, for the circuit): so a slow reader stops the sender, and nobody
 * buffers more than a stream window per stream or a circuit window per circuit.
 */
export const CIRCUIT_WINDOW = 1000
export const CIRCUIT_SENDME_INCREMENT = 100
export const STREAM_WINDOW = 500
export const STREAM_SENDME_INCREMENT = 50
