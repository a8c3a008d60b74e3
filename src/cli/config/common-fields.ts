/**
 * Config fields every role shares: the `log` block, file paths, the admin address, and the
 * fields of the mix and exit hop configs (key dir, published address, signed cascade
 * parameters). Each role's schema is built from these, so that one name means one thing in
 * every file.
 */
import { isAbsolute, dirname, resolve } from 'node:path'
import { LOG_LEVELS } from '../../base/logger.js'
import { hostPort, int, obj, oneOf, refine, str } from '../../base/schema.js'
import { shapingField } from '../../directory/shaping-json.js'
import { DEFAULT_LINK_LIMITS, MAX_LINK_LIMIT } from '../../link/limits.js'
import { DEFAULT_SHAPING_PROFILE } from '../../protocol/shaping.js'
import { DEFAULT_CELL_BYTES } from '../../protocol/geometry.js'

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

/** An http:// or https:// URL (admin ports, directory servers). */
export function httpUrlSpec () {
  return refine(str({ nonEmpty: true, maxLength: 2048 }), (text) => {
    let url: URL
    try {
      url = new URL(text)
    } catch {
      return `must be an http:// or https:// URL, got ${JSON.stringify(text.slice(0, 80))}`
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return `must be an http:// or https:// URL, got ${JSON.stringify(text.slice(0, 80))}`
    if (url.username !== '' || url.password !== '') return 'must not carry a user name or password'
    return undefined
  })
}

/** The loopback admin address (`/healthz`, `/metrics`, …); port 0 picks a free one. */
export const adminSpec = hostPort({ allowZeroPort: true })

/** The replay table's size in CREATE tags; it refuses new circuits when full (R6). */
export const replayCapacitySpec = int({ min: 1, max: 2 ** 26 })

/** Seconds a circuit may stay silent before a hop forgets it. */
export const circuitIdleSSpec = int({ min: 1, max: 7 * 24 * 3600 })

/** Seconds a predecessor link (at the entry: a client's) may carry no circuit before it is closed. */
export const linkIdleSSpec = int({ min: 1, max: 7 * 24 * 3600, default: 300 })

/**
 * The link listener's bounds (src/link/limits.ts, docs/PROTOCOL.md §8.5): handshakes in
 * progress, open links and the handshake rate, whole and per source; same names as there.
 */
export const linkLimitFields = {
  maxHandshakes: linkLimit(DEFAULT_LINK_LIMITS.maxHandshakes),
  maxHandshakesPerSource: linkLimit(DEFAULT_LINK_LIMITS.maxHandshakesPerSource),
  maxLinks: linkLimit(DEFAULT_LINK_LIMITS.maxLinks),
  maxLinksPerSource: linkLimit(DEFAULT_LINK_LIMITS.maxLinksPerSource),
  handshakeRate: linkLimit(DEFAULT_LINK_LIMITS.handshakeRate),
  handshakeBurst: linkLimit(DEFAULT_LINK_LIMITS.handshakeBurst),
  handshakeRatePerSource: linkLimit(DEFAULT_LINK_LIMITS.handshakeRatePerSource),
  handshakeBurstPerSource: linkLimit(DEFAULT_LINK_LIMITS.handshakeBurstPerSource),
}

/**
 * The hop's CREATE budgets (src/hop/hop-options.ts, docs/PROTOCOL.md §10): the hop-wide rate per
 * second and burst (default: derived from replayCapacity so the replay table cannot fill),
 * and per predecessor link (default at the entry: 1/s, burst 32; elsewhere unlimited).
 */
export const createBudgetFields = {
  createRate: int({ min: 1, max: 1_000_000 }),
  createBurst: int({ min: 1, max: 2 ** 26 }),
  linkCreateRate: int({ min: 1, max: 1_000_000 }),
  linkCreateBurst: int({ min: 1, max: 2 ** 26 }),
}

function linkLimit (value: number) {
  return int({ min: 1, max: MAX_LINK_LIMIT, default: value })
}

/** A position in a cascade: at most 7 mixes before the exit (the cascade file's limit). */
export const MAX_MIXES = 7

/** The signed cascade parameters with their defaults (docs/KEYS.md §5.2). */
export const DEFAULT_PARAMS = { cellSize: DEFAULT_CELL_BYTES, roundMs: 10, epochS: 3600, genesis: 0 } as const

/**
 * The fields a mix and an exit share. `cascade` is optional in the schema because
 * `mixgate descriptor` runs before a cascade exists; running the node requires it.
 */
export const hopFields = {
  keyDir: pathSpec(),
  address: hostPort(),
  listen: hostPort(),
  cascade: pathSpec(),
  cellSize: int({ min: 512, max: 32768, default: DEFAULT_PARAMS.cellSize }),
  roundMs: int({ min: 1, max: 10_000, default: DEFAULT_PARAMS.roundMs }),
  epochS: int({ min: 1, max: 0xffff_ffff, default: DEFAULT_PARAMS.epochS }),
  genesis: int({ min: 0, default: DEFAULT_PARAMS.genesis }),
  shaping: shapingField(DEFAULT_SHAPING_PROFILE),
  admin: adminSpec,
  publish: hostPort({ allowZeroPort: true }),
  replayCapacity: replayCapacitySpec,
  circuitIdleS: circuitIdleSSpec,
  linkIdleS: linkIdleSSpec,
  ...linkLimitFields,
  ...createBudgetFields,
  log: logSpec,
}

/** Hop fields that may be left out. */
export const HOP_OPTIONAL = ['listen', 'cascade', 'admin', 'publish', 'replayCapacity', 'circuitIdleS', 'createRate', 'createBurst', 'linkCreateRate', 'linkCreateBurst'] as const
