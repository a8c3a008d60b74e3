/**
 * The metrics every node exports whatever its role (docs/METRICS.md): what it is, how long
 * it has run, its key epoch, cells in and out, circuits open. Each role's registration
 * (src/hop/hop-metrics.ts for a mix or the exit, src/client/client-metrics.ts) starts with
 * these, on the node's own `MetricsRegistry` (metrics-registry.ts: the R19 label rules).
 */
import type { MetricsRegistry } from './metrics-registry.js'

/** The cascade direction: `forward` toward the exit, `backward` toward the client. */
export type CellDirection = 'forward' | 'backward'
export type Role = 'client' | 'mix' | 'exit'

export interface CommonMetricsOptions {
  /** The epoch whose keys the node uses now (without it, `mixgate_epoch` is not exported). */
  readonly epoch?: () => number
  /** Whole seconds since the node started (default: the process's uptime). */
  readonly uptimeS?: () => number
}

export function registerCommonMetrics (registry: MetricsRegistry, role: Role, options: CommonMetricsOptions,
  cellsIn: () => number, cellsOut: () => number, circuits: () => number): void {
  const uptimeS = options.uptimeS ?? (() => Math.floor(process.uptime()))
  registry.gauge('mixgate_node_info', 'Always 1; the role label says what this node is.', { role: [role] }).set(1, { role })
  registry.gaugeFrom('mixgate_uptime_seconds', 'Whole seconds since the node started.', uptimeS)
  if (options.epoch !== undefined) registry.gaugeFrom('mixgate_epoch', 'The key epoch the node uses now.', options.epoch)
  registry.counterFrom('mixgate_cells_in_total', 'Cells received from links.', cellsIn)
  registry.counterFrom('mixgate_cells_out_total', 'Cells sent on links, padding included.', cellsOut)
  registry.gaugeFrom('mixgate_circuits', 'Circuits open now.', circuits)
}

/** `part / whole`, 0 while nothing was counted (the padding ratios). */
export function ratio (part: number, whole: number): number {
  return whole > 0 ? part / whole : 0
}
