/**
 * The bound on app connections open at once, both doors (SOCKS, HTTP CONNECT) together, and
 * its default from the process's open-file limit (issue #17).
 *
 * Every app connection holds a descriptor from accept to close, handed off or not; so does,
 * in `mixgate up`, the exit's outbound connection for the same stream (same process). Past the
 * open-file limit accept() fails with EMFILE and the app sees a reset, or a stream half made
 * fails later with a vague 0x01. Below the cap a connection is served; at the cap it is still
 * read to the end of its request and answered at once (SOCKS 0x01, as Tor answers a resource
 * limit; HTTP 503), which needs its descriptor for a moment: those refusals have a few slots
 * of their own, inside the reserve left below the limit. With every slot taken, a connection
 * is closed at once: no answer, but no descriptor held either.
 */
import { openFileLimit } from '../base/open-file-limit.js'

/** Why a connection was refused, as a metric label (docs/METRICS.md). */
export const RefusalReason = {
  /** maxConnections were open: answered 0x01 / 503, or closed at once with no refusal slot left. */
  CAP: 'cap',
  /** accept() itself failed (EMFILE, ENFILE): the kernel's connection was closed unanswered. */
  ACCEPT_FAILED: 'accept_failed',
} as const
export type RefusalReason = typeof RefusalReason[keyof typeof RefusalReason]

/** What becomes of a new connection: served, answered with a refusal, or closed at once. */
export type Admission = 'serve' | 'refuse' | 'drop'

/** Refusals being answered at once, at most (each holds its descriptor for its handshake and linger). */
export const REFUSAL_SLOTS = 128
/**
 * Descriptors left below the open-file limit for everything that is not an app's stream: the
 * refusal slots, links to the entry (and between hops in `up`), listening sockets, the admin
 * port, log and state files, DNS sockets, worker threads' pipes.
 */
export const DESCRIPTOR_RESERVE = 512
/** The cap where the open-file limit cannot be read (no /proc) or is unlimited. */
export const FALLBACK_MAX_CONNECTIONS = 4096
/** Never less than this, however low the limit: a client that serves nobody helps nobody. */
const MIN_MAX_CONNECTIONS = 64

export interface DefaultCapOptions {
  /** The exit runs in this process (`mixgate up`): each stream holds a second descriptor. */
  readonly sharedWithExit: boolean
  /** The soft open-file limit (default: this process's, read from /proc/self/limits). */
  readonly openFileLimit?: number | undefined
}

/** maxConnections when the config gives none: what the open-file limit leaves room for. */
export function defaultMaxConnections (options: DefaultCapOptions): number {
  const limit = 'openFileLimit' in options ? options.openFileLimit : openFileLimit()
  if (limit === undefined) return FALLBACK_MAX_CONNECTIONS
  const forStreams = Math.max(0, limit - DESCRIPTOR_RESERVE)
  return Math.max(MIN_MAX_CONNECTIONS, Math.floor(options.sharedWithExit ? forStreams / 2 : forStreams))
}

export class DoorCap {
  readonly max: number
  readonly #refusalSlots: number
  #open = 0
  #refusing = 0

  constructor (max: number, refusalSlots = REFUSAL_SLOTS) {
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError('maxConnections must be a positive integer')
    this.max = max
    this.#refusalSlots = refusalSlots
  }

  /** Connections served now (not counting those being refused). */
  get open (): number { return this.#open }

  /** A new connection arrived: what to do with it. Every admission but 'drop' is given back by leave(). */
  admit (): Admission {
    if (this.#open < this.max) { this.#open++; return 'serve' }
    if (this.#refusing < this.#refusalSlots) { this.#refusing++; return 'refuse' }
    return 'drop'
  }

  /** The connection admitted as `admission` closed. */
  leave (admission: Admission): void {
    if (admission === 'serve') this.#open--
    else if (admission === 'refuse') this.#refusing--
  }
}
