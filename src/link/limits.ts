/**
 * The bounds a link listener keeps at its edge: handshakes in progress, open links, and the
 * rate of new handshakes, each for the whole listener and per source (an IPv4 address, an
 * IPv6 /64: source-key.ts). A connection past any of them is closed before any crypto work
 * (admission.ts). Why these defaults: docs/PROTOCOL.md §8.5 "Bounds".
 */
import { badOptions } from './options.js'

export interface LinkLimits {
  /** Handshakes in progress at once. */
  readonly maxHandshakes: number
  readonly maxHandshakesPerSource: number
  /** Open links at once; a handshake in progress counts as the link it may become. */
  readonly maxLinks: number
  readonly maxLinksPerSource: number
  /** New handshakes per second, sustained (a token bucket), and the burst above that rate. */
  readonly handshakeRate: number
  readonly handshakeBurst: number
  readonly handshakeRatePerSource: number
  readonly handshakeBurstPerSource: number
}

export const DEFAULT_LINK_LIMITS: LinkLimits = {
  maxHandshakes: 256,
  maxHandshakesPerSource: 32,
  maxLinks: 16_384,
  maxLinksPerSource: 64,
  handshakeRate: 100,
  handshakeBurst: 200,
  handshakeRatePerSource: 10,
  handshakeBurstPerSource: 20,
}

/** The highest value any limit takes: larger ones would not bound anything a host can hold. */
export const MAX_LINK_LIMIT = 1 << 24

export const LINK_LIMIT_NAMES = Object.keys(DEFAULT_LINK_LIMITS) as ReadonlyArray<keyof LinkLimits>

/** The defaults with `given` on top; LINK_BAD_OPTIONS naming the field if one is unusable. */
export function linkLimits (given: Partial<LinkLimits> = {}): LinkLimits {
  const limits = { ...DEFAULT_LINK_LIMITS, ...given }
  for (const name of LINK_LIMIT_NAMES) {
    const value = limits[name]
    if (!Number.isSafeInteger(value) || value < 1 || value > MAX_LINK_LIMIT) {
      throw badOptions(`${name} must be an integer from 1 to ${MAX_LINK_LIMIT}`)
    }
  }
  return limits
}
