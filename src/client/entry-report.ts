/**
 * The anonymity set as the entry mix reports it (issue #5 "What users see"): how many
 * circuits start in a creation slot at the entry (all clients' together: ours are among
 * them) and how many clients are connected. Read from the entry's admin /metrics, which
 * only carries aggregates (R19): a coarse histogram of CREATEs per slot, no times.
 *
 * The figure is coarse on purpose: the median bucket of CREATEs per busy slot (at least 1,
 * 2, 4, 8 …). Polled once a minute from the client process; a failure is not an error (the entry's admin
 * port is usually loopback-only on another host): the report is simply unknown.
 */
import { sampleValue, type ParsedMetrics } from '../base/metrics-text.js'
import { CREATE_SLOT_BUCKETS } from '../hop/create-hold.js'
import type { EntryReport } from './client-stats.js'

/** The entry's slots by CREATEs (src/hop/hop-metrics.ts, from the hop's stats). */
export const ENTRY_CREATES_METRIC = 'mixgate_slot_creates_total'

/**
 * The report in an entry's metrics, or undefined when it has none: the median bucket (its
 * lower bound) of the slots in which circuits were created at all — creation slots, where
 * ours are among them; slots without any CREATE say nothing about the set.
 */
export function entryReportFrom (metrics: ParsedMetrics): EntryReport | undefined {
  const buckets: Array<[bound: number, slots: number]> = []
  for (const bound of CREATE_SLOT_BUCKETS) {
    if (bound === 0) continue
    const slots = sampleValue(metrics, ENTRY_CREATES_METRIC, { at_least: String(bound) })
    if (slots !== undefined && slots > 0) buckets.push([bound, slots])
  }
  const total = buckets.reduce((sum, [, slots]) => sum + slots, 0)
  if (total === 0) return undefined
  let seen = 0
  let median = buckets[0]![0]
  for (const [bound, slots] of buckets) {
    seen += slots
    if (seen * 2 >= total) { median = bound; break }
  }
  const clients = sampleValue(metrics, 'mixgate_links_open')
  return { createsPerSlot: median, clients: clients ?? Number.NaN }
}

export interface EntryPoll {
  stop (): void
}

/**
 * Read the entry's metrics with `fetchMetrics` now and every `everyMs`; `onReport` gets the
 * report or undefined. The runtime gives the fetch (an HTTP client of the admin port), so
 * the client does not import it.
 */
export function pollEntryReport (fetchMetrics: () => Promise<ParsedMetrics>, onReport: (report: EntryReport | undefined) => void, everyMs = 60_000): EntryPoll {
  let stopped = false
  const ask = (): void => {
    fetchMetrics().then(
      (metrics) => { if (!stopped) onReport(entryReportFrom(metrics)) },
      () => { if (!stopped) onReport(undefined) })
  }
  ask()
  const timer = setInterval(ask, everyMs)
  timer.unref()
  return { stop: () => { stopped = true; clearInterval(timer) } }
}
