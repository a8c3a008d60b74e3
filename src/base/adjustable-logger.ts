/**
 * A node's logger whose level can change while it runs (SIGHUP with a new `log.level`).
 *
 * The logger underneath writes every level; this wrapper drops what is above the current
 * level before anything is built, so a disabled debug call still costs one comparison.
 * Children share the level: changing it reaches every component's scoped logger.
 * The format (text or JSON) cannot change: a log consumer expects one format per stream.
 */
import { createLogger, LOG_LEVELS, type LogFields, type Logger, type LoggerOptions, type LogLevel } from './logger.js'

export interface AdjustableLogger extends Logger {
  readonly level: LogLevel
  setLevel (level: LogLevel): void
}

export function createAdjustableLogger (options: LoggerOptions & { readonly level: LogLevel }): AdjustableLogger {
  const state = { rank: rankOf(options.level), level: options.level }
  const base = createLogger({ ...options, level: 'debug' })
  return wrap(base, state)
}

interface LevelState {
  rank: number
  level: LogLevel
}

function wrap (inner: Logger, state: LevelState): AdjustableLogger {
  const enabled = (level: LogLevel): boolean => rankOf(level) <= state.rank
  return {
    get level () { return state.level },
    setLevel (level: LogLevel) {
      state.level = level
      state.rank = rankOf(level)
    },
    error (event: string, fields?: LogFields) { if (enabled('error')) inner.error(event, fields) },
    warn (event: string, fields?: LogFields) { if (enabled('warn')) inner.warn(event, fields) },
    info (event: string, fields?: LogFields) { if (enabled('info')) inner.info(event, fields) },
    debug (event: string, fields?: LogFields) { if (enabled('debug')) inner.debug(event, fields) },
    child (scope: string) { return wrap(inner.child(scope), state) },
    isLevelEnabled: enabled,
  }
}

function rankOf (level: LogLevel): number {
  return LOG_LEVELS.indexOf(level)
}
