/**
 * What a client is built from (client-node.ts): the cascade, how to reach its entry, the doors'
 * addresses, and the timers and bounds that have defaults.
 */
import type { Logger } from '../base/logger.js'
import type { WallTimers } from '../clock/round-clock.js'
import type { CascadeSource } from '../directory/cascade.js'
import type { CellLink, CellLinkHandlers } from '../link/cell-link.js'
import type { FailClosedSettings } from './shaping/fail-closed-gate.js'

export interface ClientOptions {
  /** The cascade, whose onion keys change per epoch; its geometry and ID must not. */
  readonly cascade: CascadeSource
  /** Open the NK link to the entry mix; the handlers receive its cells and its end. */
  readonly connectEntry: (handlers: CellLinkHandlers) => Promise<CellLink>
  /** The SOCKS door; `maxConnections` bounds app connections open at once on both doors together (front-doors.ts). */
  readonly socks: {
    readonly host: string
    readonly port: number
    readonly auth: { readonly none: boolean, readonly userPass: boolean }
    readonly safeSocks?: boolean
    readonly maxConnections?: number | undefined
  }
  /** The HTTP CONNECT door's address; no such door if undefined. */
  readonly http?: { readonly host: string, readonly port: number }
  readonly logger: Logger
  /** How long a stream waits for the exit's answer before its app is told TTL expired. */
  readonly streamTimeoutMs?: number
  /**
   * How long a request waits for the exit's answer on one circuit before it is tried on
   * another (default 10 s, Tor's CircuitStreamTimeout); at or above streamTimeoutMs: no retry.
   */
  readonly streamAttachTimeoutMs?: number
  /** After an integrity failure, how long the circuit's streams live on before they fail. */
  readonly failTimeoutMs?: number
  /** A circuit takes new streams for this long (Tor's MaxCircuitDirtiness). */
  readonly circuitDirtinessMs?: number
  readonly maxCircuits?: number
  /** Send a DROP on a circuit with open streams after this long without cells, so hops keep it. */
  readonly keepaliveMs?: number
  /** Shaped profiles: loop incidents within the window before failing closed (default 3). */
  readonly alarmLimit?: number
  /** Shaped profiles: the rest of the fail-closed rule (fail-closed-gate.ts; default DEFAULT_FAIL_CLOSED). */
  readonly failClosed?: Partial<FailClosedSettings>
  /** Shaped profiles: slack on every loop deadline for this process's timers (ms). */
  readonly loopMarginMs?: number
  /** Shaped profiles: the round clock's time and timers (tests). */
  readonly shapingTimers?: WallTimers
  /** How often repeated events (alarms, refused requests) are logged as counts (default 60 s). */
  readonly logIntervalMs?: number
  /** Test only: sees the cells of every write to the entry link (before link encryption). */
  readonly observeWrites?: (cells: readonly Uint8Array[], round: number) => void
}
