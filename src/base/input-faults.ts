/**
 * The last line of defence against a peer's input: a node never dies from what it received.
 *
 * Every handler that acts on bytes a peer chose (a cell from a link, a round carrying queued
 * cells, a tag-log callback that releases them) catches what escapes it and `record`s it
 * (with try/catch in place: a closure per cell would allocate on the hot path). Decoders already turn
 * malformed input into typed errors that the handlers count; an exception that still escapes
 * one is a bug of ours that a peer can trigger, so it is caught here, counted, and logged at
 * error level with its code and where it happened — at most once a minute per place, since a
 * peer that found it can trigger it on every cell. The caller then drops the unit of input
 * (the cell) and whatever state it may have left half-updated (its circuit).
 */
import type { Logger } from './logger.js'

/** Minimum time between two log lines for faults at one place. */
const LOG_INTERVAL_MS = 60_000

export class InputFaults {
  /** Exceptions caught since start (exported as a metric). */
  caught = 0
  private readonly logger: Logger
  private readonly lastLogged = new Map<string, number>()

  constructor (logger: Logger) {
    this.logger = logger
  }

  /** Count and (rate-limited) log an exception caught at `where`. */
  record (where: string, err: unknown): void {
    this.caught++
    const now = Date.now()
    const last = this.lastLogged.get(where)
    if (last !== undefined && now - last < LOG_INTERVAL_MS) return
    this.lastLogged.set(where, now)
    const { code, name, stack } = (err ?? {}) as { code?: unknown, name?: unknown, stack?: unknown }
    // The code and the class name only: an error's message may quote what the peer sent.
    this.logger.error('input.exception', {
      where,
      code: typeof code === 'string' ? code : typeof name === 'string' ? name : 'ERROR',
      caught: this.caught,
    })
    if (typeof stack === 'string') this.logger.debug('input.exception_stack', { where, stack })
  }
}
