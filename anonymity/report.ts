/**
 * The table `npm run anonymity` prints: one row per profile.
 */
import type { ProfileResult } from './run-profile.js'

export function renderTable (results: readonly ProfileResult[]): string {
  const header = ['profile', 'clients', 'flows', 'accuracy', 'expected', 'tuned', 'chance', 'rank', 'goodput MB/s', 'per client KB/s', 'overhead', 'frames/s/client', 'failed', 'missed c/h', 'loop p99 ms']
  const rows = results.map((r) => [
    r.overloaded ? `${r.profile} *` : r.profile,
    String(r.clients),
    String(r.attack.flows),
    r.attack.accuracy.toFixed(3),
    r.attack.expectedAccuracy.toFixed(3),
    r.bestVariant.accuracy.toFixed(3),
    r.attack.chance.toFixed(3),
    r.attack.truthRank.toFixed(3),
    r.costs.goodputMBps.toFixed(3),
    r.costs.goodputPerClientKBps.toFixed(1),
    Number.isFinite(r.costs.overhead) ? `${r.costs.overhead.toFixed(2)}×` : '∞',
    r.costs.framesPerClientPerS.toFixed(1),
    `${r.app.failures}/${r.app.requests}`,
    `${r.missedRounds.clientsTotal}/${r.missedRounds.hopsTotal}`,
    `${r.eventLoopDelayMs.p99.toFixed(1)}/${Math.max(0, ...r.hopEventLoopDelayMs.map((d) => d.p99)).toFixed(1)}`,
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)))
  const line = (cells: readonly string[]): string => cells.map((cell, i) => i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)).join('  ')
  const kinds = results.map((r) => `${r.profile}: ${Object.entries(r.attack.byKind).sort().map(([kind, { right, flows }]) => `${kind} ${right}/${flows}`).join(', ')}`)
  return [line(header), ...rows.map(line), '',
    'accuracy: the attack as set (slots of 2 rounds, lags ±2 slots), one seeded draw of its tie-breaks; expected: the',
    'same averaged over the tie-breaks; tuned: the best of 8 or 9 slot/lag settings, chosen knowing the truth (an upper',
    'bound for an attacker who tunes). rank: share of the other clients the true client outscores, averaged over',
    'flows (0.5: the scores say nothing). overhead: link bytes / payload bytes. failed: app requests failed / made.',
    `missed c/h: rounds skipped in the window, all clients / all hops (of ${results.map((r) => r.missedRounds.rounds).join(', ')} rounds per node).`,
    `loop p99: how late the event loop ran (ms), lab process / slowest hop process (hops: ${[...new Set(results.map((r) => r.hops))].join(', ')}).`,
    '*: overloaded (a round missed, or the lab\'s loop p99 over half a round): the row measures the machine too.', '', 'flows linked right, by the true client\'s workload:', ...kinds.map((k) => `  ${k}`), ''].join('\n')
}
