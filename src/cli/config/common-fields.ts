/**
 * Config fields every role shares: the `log` block, file paths, and the number limits of
 * the mix and exit hop settings. Each role's schema is built from these, so that one name
 * means one thing in every file.
 */
import { isAbsolute, dirname, resolve } from 'node:path'
import { LOG_LEVELS } from '../../node/logger.js'
import { int, obj, oneOf, str } from '../../node/schema.js'

/** `"log": { "level": "info", "format": "text" }`, every field optional. */
export const logSpec = obj({
  level: oneOf(LOG_LEVELS, { default: 'info' }),
  format: oneOf(['text', 'json'] as const, { default: 'text' }),
}, { default: {} })

/** A file path; relative paths are resolved against the config file's directory. */
export function pathSpec () {
  return str({ nonEmpty: true, maxLength: 4096 })
}

/** Where `path`, written in the config file `configFile`, points. */
export function resolveFrom (configFile: string, path: string): string {
  return isAbsolute(path) ? path : resolve(dirname(configFile), path)
}

/** The replay table's size in CREATE tags; it refuses new circuits when full (R6). */
export const replayCapacitySpec = int({ min: 1, max: 2 ** 26 })

/** Seconds a circuit may stay silent before a hop forgets it. */
export const circuitIdleSSpec = int({ min: 1, max: 7 * 24 * 3600 })

/** A position in a cascade: at most 7 mixes before the exit (the cascade file's limit). */
export const MAX_MIXES = 7
