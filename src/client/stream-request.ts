/**
 * One app request (CONNECT, RESOLVE, ASSOCIATE) across the circuits it is tried on. A
 * request whose exit has not answered within the attach timeout is tried again on another
 * circuit, as Tor does after CircuitStreamTimeout (PROTOCOL.md §11.4, "Retries"): a circuit
 * whose CREATE a later hop never opened stays silent (nothing comes back, R3, R5), and the
 * stream timeout alone would make the app wait it out. The bounds: `retries` tries beyond
 * the first, and one deadline, the stream timeout from the app's request, over all of them.
 */

/** How long the client waits for the exit's answer before trying another circuit (Tor's CircuitStreamTimeout floor). */
export const DEFAULT_ATTACH_TIMEOUT_MS = 10_000

/** What the log's count of retries says (one line per interval, client-log.ts, R19). */
export const RETRIED_LOG_FIELDS = { reason: 'the exit did not answer a request within streamAttachTimeoutMs: it was tried again on another circuit, and the first takes no new streams (docs/PROTOCOL.md §11.4)' }

/** Tries beyond the first: each may repeat the request at a host (Tor's risk too), so few. */
export const MAX_STREAM_RETRIES = 2

export class StreamRequest {
  /** When the app gets 0x06 (TTL expired) if no exit has answered (ms, the clock of `now`). */
  readonly deadlineMs: number
  /**
   * The app's bytes that came with its request (optimistic data), taken from its door once
   * and kept: a retry's BEGIN carries the same first bytes, so none is lost or sent twice on
   * the circuit that answers (leftover bytes follow CONNECTED there).
   */
  early: Buffer = Buffer.alloc(0)
  private retriesLeft: number

  constructor (nowMs: number, timeoutMs: number, retries = MAX_STREAM_RETRIES) {
    this.deadlineMs = nowMs + timeoutMs
    this.retriesLeft = retries
  }

  /** Time left before the deadline (0 once it passed). */
  remainingMs (nowMs: number): number {
    return Math.max(0, this.deadlineMs - nowMs)
  }

  /**
   * Whether the circuit tried now gets only `attachTimeoutMs` for the exit's answer before
   * the request moves on: a retry is left and the attach timeout ends before the deadline.
   * Otherwise the exit's answer is awaited until the deadline.
   */
  retriesAfter (attachTimeoutMs: number, nowMs: number): boolean {
    return this.retriesLeft > 0 && attachTimeoutMs < this.remainingMs(nowMs)
  }

  /** Use one retry: false when none is left (the request waits on until its deadline). */
  takeRetry (): boolean {
    if (this.retriesLeft === 0) return false
    this.retriesLeft--
    return true
  }

  /** Add the bytes the app sent since the request's last try (they ride in the next BEGIN). */
  addEarly (chunks: Buffer[]): void {
    if (chunks.length > 0) this.early = Buffer.concat([this.early, ...chunks])
  }
}
