/**
 * What a peer can do wrong on a circuit's streams, as stable codes (PROTOCOL.md §7.1). None
 * is fatal to the circuit: the stream concerned is ended with END(PROTOCOL) where there is
 * one, the cell is dropped, and the endpoint counts the code (the exit in /metrics).
 */
export const StreamViolation = {
  /** DATA for a stream ID that is not open (also a benign race with our own END). */
  DATA_UNKNOWN_STREAM: 'STREAM_DATA_UNKNOWN',
  /** DATA before the stream was connected (the exit sent no CONNECTED yet). */
  DATA_BEFORE_CONNECTED: 'STREAM_DATA_EARLY',
  /** DATA beyond the stream's window, or after the peer's FINISH. */
  STREAM_WINDOW_OVERRUN: 'STREAM_WINDOW_OVERRUN',
  /** DATA beyond the circuit's window (all streams together). */
  CIRCUIT_WINDOW_OVERRUN: 'CIRCUIT_WINDOW_OVERRUN',
  /** A stream SENDME that would raise our sending window above its size. */
  STREAM_SENDME_OVERFLOW: 'STREAM_SENDME_OVERFLOW',
  /** A circuit SENDME that would raise our sending window above its size. */
  CIRCUIT_SENDME_OVERFLOW: 'CIRCUIT_SENDME_OVERFLOW',
} as const

export type StreamViolation = typeof StreamViolation[keyof typeof StreamViolation]
