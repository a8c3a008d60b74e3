/**
 * What `/healthz` answers. A node is healthy when it can carry traffic: a mix needs its
 * successor link (without it, it refuses predecessors), a client needs its entry link. The
 * exit only needs to be running, so it has no health callback.
 */

export interface HealthReport {
  readonly healthy: boolean
  /** Why not, as a fixed word (`successor_down`): shown in the body, never an address. */
  readonly reason?: string
}

export type HealthCheck = () => HealthReport

/** A mix is healthy while its successor link is up. */
export function mixHealth (mix: { readonly successorUp: boolean }): HealthCheck {
  return () => mix.successorUp ? { healthy: true } : { healthy: false, reason: 'successor_down' }
}

/** A client is healthy while its link to the entry mix is up. */
export function clientHealth (client: { readonly entryUp: boolean }): HealthCheck {
  return () => client.entryUp ? { healthy: true } : { healthy: false, reason: 'entry_down' }
}
