/**
 * How `mixgate up` spreads its hops over worker threads (`--hop-threads N`).
 *
 * With `--shaping off`, the cores but one (the client, in the main thread, is the heaviest
 * single thread of a download), at least one, at most one per hop: on 2 cores one thread runs
 * every hop. Each thread is a V8 isolate of 13–18 MB whatever runs in it (issue #17), and on 2
 * cores more threads than cores only contend: measured with `up --shaping off` on this kind of
 * machine (docs/BENCH.md, "Hops sharing threads"), one hop thread idles some 30 MB lower, costs
 * a fifth to a quarter less CPU per GB and downloads faster than four. It was not the default
 * while off's phased rounds made one thread, which runs the hops in turn, miss each later hop's
 * phase (a new connection 50 ms instead of 30); since a mix after the entry releases on its
 * neighbour's write (PROTOCOL.md §11.1) one thread answers in 12–15 ms.
 *
 * Shaped, still a thread per hop: one shared thread does every hop's rounds in turn, and under
 * a burst of 1,000 new elastic streams it still falls behind now and then (1 run in about 12 of
 * test/cli/up-many-streams-elastic failed with one thread, 2026-12-07), and its downloads
 * varied more (BENCH.md).
 */
import { availableParallelism } from 'node:os'
import type { ShapingProfile } from '../../protocol/shaping.js'

/** The most hop threads `up` runs: one per hop (8 hops: 7 mixes and the exit). */
export const MAX_HOP_THREADS = 8

/**
 * The default number of hop threads for `hopCount` hops (see above): shaped, one per hop;
 * unshaped, the cores but one, at least one; never more than one per hop or MAX_HOP_THREADS.
 */
export function defaultHopThreads (hopCount: number, profile: ShapingProfile, cores = availableParallelism()): number {
  return Math.max(1, Math.min(profile === 'off' ? cores - 1 : hopCount, hopCount, MAX_HOP_THREADS))
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
