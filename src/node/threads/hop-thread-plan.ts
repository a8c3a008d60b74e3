/**
 * How `mixgate up` spreads its hops over worker threads (`--hop-threads N`).
 *
 * Each thread is a V8 isolate of 13–18 MB whatever runs in it (issue #17), so sharing saves
 * memory. But the default is still a thread per hop: with all four hops in one thread on 2
 * cores, the shared thread fell behind under a burst (1,000 streams opened at once under
 * elastic), LOOP echoes came back late and the client failed closed (1 of 3 runs with one
 * thread, 1 of 4 with two, 0 of 4 with four, load 4–6; and once in a clean-clone CI run).
 * docs/BENCH.md ("Hops sharing threads") has the memory and speed figures.
 */

/** The most hop threads `up` runs: one per hop (8 hops: 7 mixes and the exit). */
export const MAX_HOP_THREADS = 8

/** The default number of hop threads for `hopCount` hops: one each (see above), at most MAX_HOP_THREADS. */
export function defaultHopThreads (hopCount: number): number {
  return Math.max(1, Math.min(hopCount, MAX_HOP_THREADS))
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
