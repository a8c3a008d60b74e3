/**
 * Counts of repeated events, logged as one line per event kind per interval (R19).
 *
 * A line per alarm, per bad request or per failed link, with its timestamp, pins each event
 * to a moment; put beside a hop's logs that is the linking database R19 forbids. So events
 * that fire per circuit, per stream or per cell are counted here and written above debug
 * only as `event … count=N` once per interval, on a timer that runs from construction (the
 * line's time says when the interval ended, not when anything happened). Each event is
 * still written at debug, where per-circuit detail belongs.
 *
 * Fields given with an event are part of its key (`loop.alarm kind=lost` and `kind=late`
 * are counted apart), so they must come from small fixed vocabularies: never an ID, an
 * address or a time. Memory is bounded: past `maxKeys` keys, further new keys are counted
 * in one `log.aggregate_overflow` line. Counting an event without fields allocates nothing.
 */
import type { LogFields, Logger, LogLevel } from './logger.js'

export interface LogAggregatorOptions {
  /** The level of the aggregate lines (the single events go to debug). */
  readonly level: Exclude<LogLevel, 'debug'>
  /** How often counts are written (default one minute). */
  readonly intervalMs?: number
  /** At most this many distinct keys per interval (default 64). */
  readonly maxKeys?: number
}

/** Field values an aggregation key may hold. */
export type AggregateFields = Readonly<Record<string, string | number | boolean>>

export const DEFAULT_AGGREGATE_INTERVAL_MS = 60_000
export const DEFAULT_AGGREGATE_MAX_KEYS = 64
/** The event under which new keys past `maxKeys` are counted. */
export const OVERFLOW_EVENT = 'log.aggregate_overflow'

interface Tally {
  readonly event: string
  readonly fields: AggregateFields | undefined
  count: number
}

export class LogAggregator {
  private readonly logger: Logger
  private readonly level: Exclude<LogLevel, 'debug'>
  private readonly intervalMs: number
  private readonly maxKeys: number
  private readonly tallies = new Map<string, Tally>()
  private overflow = 0
  private readonly timer: NodeJS.Timeout
  private closed = false

  constructor (logger: Logger, options: LogAggregatorOptions) {
    const intervalMs = options.intervalMs ?? DEFAULT_AGGREGATE_INTERVAL_MS
    const maxKeys = options.maxKeys ?? DEFAULT_AGGREGATE_MAX_KEYS
    if (!(intervalMs > 0)) throw new TypeError('a log aggregation interval must be positive')
    if (!Number.isInteger(maxKeys) || maxKeys < 1) throw new TypeError('a log aggregator keeps at least one key')
    this.logger = logger
    this.level = options.level
    this.intervalMs = intervalMs
    this.maxKeys = maxKeys
    this.timer = setInterval(() => this.flush(), intervalMs)
    this.timer.unref()
  }

  /** One occurrence of `event`: counted for the next aggregate line, and written at debug. */
  count (event: string, fields?: AggregateFields): void {
    if (fields === undefined) this.logger.debug(event)
    else this.logger.debug(event, fields)
    if (this.closed) return
    const key = fields === undefined ? event : keyOf(event, fields)
    const tally = this.tallies.get(key)
    if (tally !== undefined) { tally.count++; return }
    if (this.tallies.size >= this.maxKeys) { this.overflow++; return }
    this.tallies.set(key, { event, fields, count: 1 })
  }

  /** Write one line per key counted since the last flush, with its count; then start over. */
  flush (): void {
    const intervalS = this.intervalMs / 1000
    for (const tally of this.tallies.values()) {
      this.write(tally.event, { ...tally.fields, count: tally.count, intervalS })
    }
    this.tallies.clear()
    if (this.overflow > 0) this.write(OVERFLOW_EVENT, { count: this.overflow, intervalS })
    this.overflow = 0
  }

  /** Stop the timer and write what is counted (the node is stopping). Later counts go to debug only. */
  close (): void {
    if (this.closed) return
    this.closed = true
    clearInterval(this.timer)
    this.flush()
  }

  private write (event: string, fields: LogFields): void {
    this.logger[this.level](event, fields)
  }
}

/** `event` and its fields in name order: the same fields always make the same key. */
function keyOf (event: string, fields: AggregateFields): string {
  const names = Object.keys(fields).sort()
  let key = event
  for (const name of names) key += `\u0000${name}=${String(fields[name])}`
  return key
}
