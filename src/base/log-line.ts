/**
 * A log line and its two renderings, text and JSON (logger.ts describes the format and what
 * is redacted before a line gets here). Apart from the logger and its winston transport, so
 * that a thread that must write one line without its event loop (the shutdown watchdog,
 * src/node/threads/watchdog-main.ts) renders it exactly as the node's other lines.
 */

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const
export type LogLevel = typeof LOG_LEVELS[number]

/** A line as the logger hands it on: everything already redacted and JSON-safe. */
export interface LogLine {
  readonly level: LogLevel
  readonly message: string // the event; winston expects a `message`
  readonly time: string
  readonly role: string
  readonly scope: string | undefined
  readonly fields: Record<string, unknown>
}

// Characters that never need quoting in a text line's `name=value`.
const BARE = /^[A-Za-z0-9_.:/@+\-[\],%]+$/

export function renderText (line: LogLine): string {
  const who = line.scope === undefined ? line.role : `${line.role}:${line.scope}`
  let text = `${line.time} ${line.level} ${who} ${line.message}`
  for (const [name, value] of Object.entries(line.fields)) {
    text += ` ${name}=${textValue(value)}`
  }
  return text
}

function textValue (value: unknown): string {
  if (typeof value === 'string') return BARE.test(value) ? value : JSON.stringify(value)
  if (typeof value === 'object' && value !== null) return JSON.stringify(value)
  return String(value)
}

const RESERVED = new Set(['time', 'level', 'role', 'scope', 'event'])

export function renderJson (line: LogLine): string {
  const out: Record<string, unknown> = { time: line.time, level: line.level, role: line.role }
  if (line.scope !== undefined) out.scope = line.scope
  out.event = line.message
  for (const [name, value] of Object.entries(line.fields)) {
    // A field may not overwrite the line's own keys; it is renamed instead of dropped.
    let key = name
    while (RESERVED.has(key) || Object.hasOwn(out, key)) key += '_'
    out[key] = value
  }
  return JSON.stringify(out)
}
