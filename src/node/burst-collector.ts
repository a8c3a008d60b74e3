/**
 * One full, compacting garbage collection after a burst of streams closed, once the node is
 * quiet again (issue #17: memory returns to within 10 % of idle after the streams close).
 *
 * Why a node asks for it: a closed stream's objects are garbage at once, but V8 only collects
 * its old generation when it grows, or when its memory reducer sees the isolate idle — and the
 * reducer of a hop thread under `up` waited for its 100 s watchdog (docs/BENCH.md, "Garbage
 * that waits for V8"). Until then the streams' Buffers and sockets hold their native memory
 * too: after 9,000 streams closed, `up --shaping off` held twice its idle memory for 100 s.
 * A plain full collection frees the objects but leaves the pages they were spread over
 * committed (the exit's heap stayed at 18–47 MB for 12 MB live); compacting all of them, as
 * V8's own memory reducer would, brings the heap back to its idle size.
 *
 * What it costs: one stop-the-world pause of each thread (30–150 ms measured after 3,000 to
 * 9,000 streams), once per burst, after `quietMs` in which the count of open streams stayed put.
 * A shaped hop's rounds catch up what they missed at their next release
 * (src/hop/shaped-rounds.ts), far within a client's loop margin (1 s). A shaped client's
 * round clock skips rounds instead: a gap in its cover traffic toward a remote entry would
 * say that a burst of its streams ended. So, by start-node.ts: a lone exit watches its
 * streams; a lone client watches its app connections only unshaped; under `up`, where the
 * client's link to the entry never leaves the process, the main thread watches the app
 * connections and the whole cascade collects, every hop thread too (embedded-cascade.ts).
 * Each collection is logged (`memory.collected`, with its pause).
 *
 * The decision (`BurstWatch`) is pure, from samples of the count; `watchBursts` samples it on
 * an unreferenced timer; `collectGarbage` collects and logs. V8's `gc` is exposed at run
 * time, as Jest does for `--logHeapUsage` (or taken from `--expose-gc`), and compaction of
 * every page is V8's `--compact-on-every-full-gc`, set for this one collection and cleared
 * after it.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import type { Logger } from '../base/logger.js'

/** Streams that must have closed since the last collection (or the peak) to be worth one. */
export const MIN_STREAMS_FREED = 256

/** How long the count must stay within `quietSlack` of itself before the collection. */
export const QUIET_MS = 5_000

/** How often the count is read. */
export const SAMPLE_MS = 1_000

export interface BurstWatchOptions {
  readonly minFreed?: number
  readonly quietMs?: number
  /** How far the count may move and still be quiet (default minFreed / 8). */
  readonly quietSlack?: number
}

/**
 * When a burst of closes is over: fed samples of the open-stream count, `sample` says
 * "collect now" (with the streams freed) once the count fell `minFreed` or more below its peak since the last
 * collection, and stayed within `quietSlack` of one value for `quietMs`.
 */
export class BurstWatch {
  readonly minFreed: number
  readonly quietMs: number
  readonly quietSlack: number
  #peak = 0
  #anchor = 0
  #quietSince = Number.NEGATIVE_INFINITY

  constructor (options: BurstWatchOptions = {}) {
    this.minFreed = options.minFreed ?? MIN_STREAMS_FREED
    this.quietMs = options.quietMs ?? QUIET_MS
    this.quietSlack = options.quietSlack ?? Math.max(1, Math.floor(this.minFreed / 8))
  }

  /**
   * The count `open` at `nowMs`: the streams freed since the last collection if the caller
   * should collect now (it then counts as done), else 0.
   */
  sample (open: number, nowMs: number): number {
    if (open > this.#peak) this.#peak = open
    if (Math.abs(open - this.#anchor) > this.quietSlack || this.#quietSince === Number.NEGATIVE_INFINITY) {
      this.#anchor = open
      this.#quietSince = nowMs
    }
    const freed = this.#peak - open
    if (freed < this.minFreed || nowMs - this.#quietSince < this.quietMs) return 0
    this.#peak = open
    return freed
  }
}

export interface WatchBurstsOptions extends BurstWatchOptions {
  /** Streams open now (the exit's attached streams, the client's app connections). */
  readonly count: () => number
  readonly logger: Logger
  readonly sampleMs?: number
  /**
   * What a burst's end does, given the streams freed (default: collectGarbage here; `up`
   * also asks its hop threads to collect, embedded-cascade.ts).
   */
  readonly onBurstEnd?: (streamsFreed: number) => void
}

/** A running watch; `stop` ends it. */
export interface BurstCollector {
  /** Bursts seen to their end so far. */
  readonly bursts: number
  stop (): void
}

/** Watch `count` and act on the end of each burst of closes (see above). */
export function watchBursts (options: WatchBurstsOptions): BurstCollector {
  const onBurstEnd = options.onBurstEnd ?? ((streamsFreed: number) => { collectGarbage(options.logger, { streamsFreed }) })
  const watch = new BurstWatch(options)
  let bursts = 0
  const timer = setInterval(() => {
    const freed = watch.sample(options.count(), performance.now())
    if (freed === 0) return
    bursts++
    onBurstEnd(freed)
  }, options.sampleMs ?? SAMPLE_MS)
  timer.unref()
  return {
    get bursts () { return bursts },
    stop () { clearInterval(timer) },
  }
}

/** This isolate's collection, made once: undefined until first asked, null if the runtime refuses. */
let collection: (() => void) | null | undefined

/**
 * Collect this thread's garbage now (fullCollection) and log `memory.collected` with `fields`,
 * the pause and the heap before and after; returns the pause in ms. A runtime that will not
 * expose `gc` gets one warning and no collection (undefined).
 */
export function collectGarbage (logger: Logger, fields: Record<string, unknown> = {}): number | undefined {
  if (collection === undefined) {
    collection = fullCollection() ?? null
    if (collection === null) logger.warn('memory.no_collector', { hint: 'what a burst of streams leaves waits for V8\'s own collection (up to 100 s)' })
  }
  if (collection === null) return undefined
  const before = process.memoryUsage()
  const started = performance.now()
  collection()
  const pauseMs = Math.round((performance.now() - started) * 10) / 10
  const after = process.memoryUsage()
  logger.info('memory.collected', {
    ...fields,
    pauseMs,
    heapUsedMiB: [mib(before.heapUsed), mib(after.heapUsed)],
    heapTotalMiB: [mib(before.heapTotal), mib(after.heapTotal)],
  })
  return pauseMs
}

/**
 * V8's full collection of this thread's isolate, compacting every page, or undefined if the
 * runtime will not expose `gc`. The flag is process-wide: another thread's collection in the
 * same moment compacts too, which costs it time but changes nothing it keeps.
 */
export function fullCollection (): (() => void) | undefined {
  const gc = exposedGc()
  if (gc === undefined) return undefined
  return () => {
    setFlagsFromString('--compact-on-every-full-gc')
    try {
      gc()
    } finally {
      setFlagsFromString('--no-compact-on-every-full-gc')
    }
  }
}

function exposedGc (): (() => void) | undefined {
  const exposed = (globalThis as { gc?: unknown }).gc
  if (typeof exposed === 'function') return exposed as () => void
  try {
    setFlagsFromString('--expose-gc')
    const gc: unknown = runInNewContext('gc')
    return typeof gc === 'function' ? gc as () => void : undefined
  } catch {
    return undefined
  }
}

function mib (bytes: number): number {
  return Math.round(bytes / 2 ** 20 * 10) / 10
}
