/**
 * Aggregate counters of the front door, for /metrics: never per connection, never an address
 * or a destination (DESIGN-REVIEW R19).
 */

export interface SocksCountersSnapshot {
  /** TCP connections accepted from apps. */
  readonly connections: number
  /** Connections still in the handshake or waiting for accept()/reject() right now. */
  readonly pending: number
  /** CONNECTs answered with success. */
  readonly accepted: number
  /** RESOLVEs and RESOLVE_PTRs answered with success (absent: none; the HTTP door has none). */
  readonly resolved?: number
  /** Failure replies sent, by REP code (from reject(), safeSocks, and bad requests). */
  readonly rejected: Readonly<Record<number, number>>
  /** Handshake errors, by SocksError code. */
  readonly errors: Readonly<Record<string, number>>
  /** Warnings, by code (SOCKS_UNSAFE_IP_LITERAL). */
  readonly warnings: Readonly<Record<string, number>>
  /** Connections refused before their request was served, by reason (door-cap.ts RefusalReason). Absent: none. */
  readonly refused?: Readonly<Record<string, number>>
  /** App connections of this door open now, handed off or not (absent: not counted). */
  readonly open?: number
  /** The cap on app connections open at once, both doors together (Infinity: none). */
  readonly maxOpen?: number
}

/** What the door server knows and the counters do not: its open connections and its cap. */
export interface DoorOccupancy {
  readonly open: number
  readonly maxOpen: number
}

export class SocksCounters {
  connections = 0
  accepted = 0
  resolved = 0
  readonly #rejected = new Map<number, number>()
  readonly #errors = new Map<string, number>()
  readonly #warnings = new Map<string, number>()
  readonly #refused = new Map<string, number>()

  rejected (rep: number): void { bump(this.#rejected, rep) }
  error (code: string): void { bump(this.#errors, code) }
  warning (code: string): void { bump(this.#warnings, code) }
  refused (reason: string): void { bump(this.#refused, reason) }

  snapshot (pending: number, occupancy?: DoorOccupancy): SocksCountersSnapshot {
    return {
      connections: this.connections,
      pending,
      accepted: this.accepted,
      resolved: this.resolved,
      rejected: Object.fromEntries(this.#rejected),
      errors: Object.fromEntries(this.#errors),
      warnings: Object.fromEntries(this.#warnings),
      refused: Object.fromEntries(this.#refused),
      ...occupancy,
    }
  }
}

function bump<K> (map: Map<K, number>, key: K): void {
  map.set(key, (map.get(key) ?? 0) + 1)
}
