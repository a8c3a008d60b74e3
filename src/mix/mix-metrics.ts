/**
 * A mix's metrics (docs/METRICS.md): everything a hop exports (src/hop/hop-metrics.ts) and
 * the link to its successor.
 *
 *   const metrics = registerMixMetrics(new MetricsRegistry(), mixNode, { position: 1, epoch: () => keys.currentEpoch() })
 *   mixNode.observeRounds(metrics.roundObserver)
 */
import type { MetricsRegistry } from '../base/metrics-registry.js'
import { registerHopMetrics, type HopMetrics, type HopMetricsOptions, type HopSource } from '../hop/hop-metrics.js'

/** A mix (`MixNode` fits). */
export interface MixSource extends HopSource {
  readonly successorUp: boolean
  readonly successorConnects: number
  readonly successorFailures: number
}

/** A mix at any position but the last. */
export function registerMixMetrics (registry: MetricsRegistry, mix: MixSource, options: HopMetricsOptions): HopMetrics {
  const metrics = registerHopMetrics(registry, 'mix', mix, options, ['forward', 'backward'], () => mix.successorUp)
  registry.counterFrom('mixgate_successor_connects_total', 'Links to the successor established.', () => mix.successorConnects)
  registry.counterFrom('mixgate_successor_failures_total', 'Failed dials to the successor, and successor links lost.', () => mix.successorFailures)
  return metrics
}
