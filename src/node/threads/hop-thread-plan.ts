/**
 * How `mixgate up` spreads its hops over worker threads (`--hop-threads N`).
 *
 * Each thread is a V8 isolate of 13–18 MB whatever runs in it (issue #17), and a thread can
 * only use one core: more threads than cores buy nothing, as the client in the main thread
 * wants a core of its own too. DEFAULT: measured in docs/BENCH.md ("Hops sharing threads").
 */
import { availableParallelism } from 'node:os'

/** The most hop threads `up` runs: one per hop (8 hops: 7 mixes and the exit). */
export const MAX_HOP_THREADS = 8

/** The default number of hop threads for `hopCount` hops on `cores` cores. */
export function defaultHopThreads (hopCount: number, cores: number = availableParallelism()): number {
  return Math.max(1, Math.min(hopCount, cores - 1))
}

/**
 * The hops' positions (1 = entry mix … hopCount = exit) grouped into `threads` threads, taken in
 * turn (with two threads: 1, 3 in one, 2, 4 in the other), so that every thread carries as many
 * hops as another, give or take one; never more threads than hops.
 */
export function hopGroups (hopCount: number, threads: number): number[][] {
  const count = Math.max(1, Math.min(hopCount, threads))
  const groups: number[][] = Array.from({ length: count }, () => [])
  for (let position = 1; position <= hopCount; position++) groups[(position - 1) % count]!.push(position)
  return groups
}
