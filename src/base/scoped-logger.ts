/**
 * The log every node writes: one line per event, as text or JSON, safe by default.
 * This file builds and redacts the lines; where they go is a `LineSink`'s (logger.ts: through
 * winston; stream-logger.ts: straight to a stream, for threads that need no winston).
 *
 * Calls name an event and give fields: `log.child('link').info('link.accepted', { peer: 'mix2' })` →
 *
 *   2026-11-25T21:00:00.000Z info mix[1]:link link.accepted peer=mix2
 *   {"time":"2026-11-25T21:00:00.000Z","level":"info","role":"mix[1]","scope":"link","event":"link.accepted","peer":"mix2"}
 *
 * Safe by default (DESIGN-REVIEW R19): logs must not become the database that links users
 * to destinations. So, in every line above debug level:
 *   - a field whose name is sensitive (`SENSITIVE_FIELDS`, plus any camelCase name ending
 *     in one of `SENSITIVE_SUFFIXES`, e.g. `linkKey`, `clientIp`, `outCircuitId`; at any
 *     depth of nested objects) is written as `[redacted]`;
 *   - an error shows its name and code, and its message only if it is a MixgateError
 *     (whose messages never hold addresses); Node's own messages do
 *     (`connect ECONNREFUSED 93.184.216.34:443`), as do MixgateError `detail`s.
 * Debug lines show all of these. What a line shows depends on the line's level, not on the
 * logger's: a node run at debug level still writes redacted info lines, so filtering a
 * debug log down to info is enough to make it shareable.
 * Byte arrays are never written, at any level: only `<32 bytes>`. Per-circuit or per-cell
 * events belong at debug level only (their timestamps would link mixes after the fact).
 *
 * A call at a disabled level returns before building anything, so debug calls on the
 * data path cost one level check.
 */
import { MixgateError } from '../errors.js'
import type { LogLevel, LogLine } from './log-line.js'

export { LOG_LEVELS, type LogLevel } from './log-line.js'
export type LogFields = Record<string, unknown>

export interface Logger {
  error (event: string, fields?: LogFields): void
  warn (event: string, fields?: LogFields): void
  info (event: string, fields?: LogFields): void
  debug (event: string, fields?: LogFields): void
  /** A logger whose lines carry `scope` after the parent's (`link` → `link:noise`). */
  child (scope: string): Logger
  isLevelEnabled (level: LogLevel): boolean
}

export interface LoggerOptions {
  /** The most detailed level written (default `info`). */
  readonly level?: LogLevel
  /** `text` (default) or `json`, one object per line. */
  readonly format?: 'text' | 'json'
  /** Which node this is, first on every line: `client`, `mix[1]`, `exit`. */
  readonly role: string
  /** Where lines go (default: standard error, leaving standard output to commands). */
  readonly stream?: NodeJS.WritableStream
  /** More field names to treat as sensitive. */
  readonly sensitive?: readonly string[]
  /** The clock for timestamps (tests). */
  readonly now?: () => Date
}

/** Field names redacted above debug level (compared case-insensitively). */
export const SENSITIVE_FIELDS: readonly string[] = [
  'destination', 'host', 'hostname', 'address', 'ip', 'clientAddress', 'remoteAddress',
  'remotePort', 'key', 'secret', 'seed', 'circuitId', 'streamId',
]

/** camelCase or snake_case endings that make any field name sensitive. */
export const SENSITIVE_SUFFIXES: readonly string[] = [
  'Key', 'Secret', 'Seed', 'Address', 'Host', 'Hostname', 'Destination', 'Ip', 'CircuitId', 'StreamId',
]

export const REDACTED = '[redacted]'

export const LEVEL_NUMBERS: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 }
const MAX_STRING = 1024
const MAX_DEPTH = 4

/** Where a logger's finished lines go: already redacted and JSON-safe (log-line.ts renders them). */
export interface LineSink {
  isLevelEnabled (level: LogLevel): boolean
  log (line: LogLine): void
}

/** A logger for `options.role` whose lines go to `sink` (its level and stream are the sink's). */
export function scopedLogger (sink: LineSink, options: Pick<LoggerOptions, 'role' | 'sensitive' | 'now'>): Logger {
  return new ScopedLogger(sink, options.role, undefined, sensitivity(options.sensitive ?? []), options.now ?? (() => new Date()))
}

class ScopedLogger implements Logger {
  constructor (
    private readonly sink: LineSink,
    private readonly role: string,
    private readonly scope: string | undefined,
    private readonly sensitive: (name: string) => boolean,
    private readonly now: () => Date,
  ) {}

  error (event: string, fields?: LogFields): void { this.write('error', event, fields) }
  warn (event: string, fields?: LogFields): void { this.write('warn', event, fields) }
  info (event: string, fields?: LogFields): void { this.write('info', event, fields) }
  debug (event: string, fields?: LogFields): void { this.write('debug', event, fields) }

  child (scope: string): Logger {
    const nested = this.scope === undefined ? scope : `${this.scope}:${scope}`
    return new ScopedLogger(this.sink, this.role, nested, this.sensitive, this.now)
  }

  isLevelEnabled (level: LogLevel): boolean {
    return this.sink.isLevelEnabled(level)
  }

  private write (level: LogLevel, event: string, fields: LogFields | undefined): void {
    if (!this.sink.isLevelEnabled(level)) return
    const revealed = level === 'debug'
    const line: LogLine = {
      level,
      message: event,
      time: this.now().toISOString(),
      role: this.role,
      scope: this.scope,
      fields: fields === undefined ? {} : this.clean(fields, revealed, 0),
    }
    this.sink.log(line)
  }

  /** A JSON-safe copy of `fields`: sensitive names redacted unless `revealed`. */
  private clean (fields: Record<string, unknown>, revealed: boolean, depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {}
    for (const [name, value] of Object.entries(fields)) {
      if (value === undefined) continue
      out[name] = !revealed && this.sensitive(name) ? REDACTED : this.value(value, revealed, depth)
    }
    return out
  }

  private value (value: unknown, revealed: boolean, depth: number): unknown {
    switch (typeof value) {
      case 'string':
        return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…` : value
      case 'number':
        return Number.isFinite(value) ? value : String(value)
      case 'boolean':
        return value
      case 'bigint':
        return value.toString()
      case 'undefined':
        return null
      case 'object':
        break
      default:
        return `[${typeof value}]`
    }
    if (value === null) return null
    if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return `<${value.byteLength} bytes>`
    if (depth >= MAX_DEPTH) return '[…]'
    if (value instanceof Error) return this.errorFields(value, revealed, depth + 1)
    if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString()
    if (Array.isArray(value)) return value.map((v) => this.value(v, revealed, depth + 1))
    return this.clean(value as Record<string, unknown>, revealed, depth + 1)
  }

  /** An error as fields: see the file comment for what each level shows. */
  private errorFields (err: Error, revealed: boolean, depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = { name: err.name }
    const code = (err as { code?: unknown }).code
    if (typeof code === 'string' || typeof code === 'number') out.code = code
    if (revealed || err instanceof MixgateError) out.message = this.value(err.message, revealed, depth)
    if (revealed && err instanceof MixgateError && err.detail !== undefined) out.detail = this.value(err.detail, revealed, depth)
    if (err.cause !== undefined) out.cause = this.value(err.cause, revealed, depth)
    return out
  }
}

function sensitivity (extra: readonly string[]): (name: string) => boolean {
  const exact = new Set([...SENSITIVE_FIELDS, ...extra].map((n) => n.toLowerCase()))
  const snakeSuffixes = SENSITIVE_SUFFIXES.map((s) => '_' + s.toLowerCase())
  return (name) => {
    if (exact.has(name.toLowerCase())) return true
    if (SENSITIVE_SUFFIXES.some((suffix) => name.endsWith(suffix) && name.length > suffix.length)) return true
    const lower = name.toLowerCase()
    return snakeSuffixes.some((suffix) => lower.endsWith(suffix))
  }
}
