/**
 * One worker thread of `mixgate up`'s hops (hop-thread-main.ts), seen from the parent: it runs
 * one or more hops, each in a slot of its own; this spawns it, carries each hop's requests to
 * its slot, and notices when the thread dies without being asked. The per-hop view the
 * cascade works with is HopThread (hop-thread.ts).
 *
 * Why several hops may share one: each thread is a V8 isolate of 13–18 MB whatever runs in
 * it, and on a machine with fewer cores than hops the extra threads cannot run at once anyway
 * (issue #17, docs/BENCH.md).
 *
 * The thread's end is expected only once every one of its hops was asked to stop; any other
 * end (an uncaught error in a hop, an out-of-memory kill of the thread) is a crash of every
 * hop in it: logged as `node.crashed` under each hop's label, each hop's open requests fail
 * and its `crashed` resolves, and its stop then throws it, so that `up` ends with status 1
 * as a crashed node in one process would.
 *
 * The last hop's stop waits for the thread to end; a thread that outlives `graceMs` after that
 * is terminated. One still running `graceMs` after terminate() is blocked where termination
 * cannot reach (native code): it is logged as `thread.stuck` under each of its hops' labels
 * and that stop throws; the process must not wait for it (`process.exit` would:
 * src/node/hard-exit.ts ends the process instead).
 */
import { Worker } from 'node:worker_threads'
import type { Logger } from '../../base/logger.js'
import { errorFromJson, BOOTED_ID, type FromHop, type HopAnswers, type HopRequest, type HopWorkerData, type ToHop } from './hop-thread-protocol.js'
import { StartError } from '../start/start-node.js'

/** A hop as its thread is spawned with it. */
export interface WorkerHop {
  /** `mix[N]` or `exit`: the label its thread's events are logged under. */
  readonly label: string
  readonly logger: Logger
  /** The thread loads this role's code while it boots, before `up` chooses ports. */
  readonly role: 'mix' | 'exit'
}

export interface HopWorkerOptions {
  /** The thread's script (default: the compiled hop-thread-main.js next to this file). */
  readonly entry?: URL
  /** How long the thread may take to end once its last node stopped (default 3000 ms). */
  readonly graceMs?: number
}

const ENTRY = new URL('./hop-thread-main.js', import.meta.url)
const DEFAULT_GRACE_MS = 3000
/**
 * The thread's young generation, in MB (V8 makes it three semi-spaces: 2 MB each). Left to V8,
 * a busy hop's grows to 48 MB, and the Buffers its garbage holds wait as long: `mixgate up`
 * idled at 217 MB RSS that way and at 162–178 MB with this cap, and its CPU for 2 × 64 MiB
 * did not measurably change (7.4–7.9 s against 8.9 s, load 7–9). 3 MB (1 MB semi-spaces)
 * cost CPU, more scavenges: 9.2–10.2 s (issue #17, docs/BENCH.md).
 */
const HOP_YOUNG_GENERATION_MB = 6

interface Pending {
  readonly slot: number
  resolve (value: unknown): void
  reject (err: Error): void
}

export class HopWorker {
  /** Resolves once the thread's code is loaded and crypto is ready (then prepare is quick). */
  readonly booted: Promise<void>
  /** Resolves once the thread has ended, however. */
  readonly ended: Promise<void>
  private readonly worker: Worker
  private readonly pending = new Map<number, Pending>()
  private readonly graceMs: number
  private nextId = BOOTED_ID + 1
  /** Per slot: resolves with that hop's crash; never if the thread ends as expected. */
  private readonly crashes: Array<Promise<Error>>
  /** Per slot, set when the thread crashed. */
  private crashErrors: Error[] | undefined
  private isGone = false
  /** terminate() was called: the thread's end is expected, not a crash. */
  private terminated = false
  /** The slots whose hop was asked to stop. */
  private readonly stopAsked = new Set<number>()
  /** Once every hop was asked to stop: the thread's end, or why it did not end. */
  private ending: Promise<Error | undefined> | undefined

  constructor (private readonly hops: readonly WorkerHop[], options: HopWorkerOptions = {}) {
    this.graceMs = options.graceMs ?? DEFAULT_GRACE_MS
    this.booted = new Promise<unknown>((resolve, reject) => this.pending.set(BOOTED_ID, { slot: 0, resolve, reject })).then(() => {})
    // Awaited by whoever starts the cascade; a thread that fails first must not be an unhandled rejection.
    this.booted.catch(() => {})
    const crashed: Array<(err: Error) => void> = []
    this.crashes = hops.map(() => new Promise((resolve) => crashed.push(resolve)))

    this.worker = new Worker(options.entry ?? ENTRY, {
      resourceLimits: { maxYoungGenerationSizeMb: HOP_YOUNG_GENERATION_MB },
      workerData: { roles: hops.map((hop) => hop.role) } satisfies HopWorkerData,
    })
    let uncaught: Error | undefined
    this.worker.on('message', (message: FromHop) => this.answer(message))
    this.worker.on('error', (err) => { uncaught = err })
    this.ended = new Promise((resolve) => {
      this.worker.once('exit', (exitCode) => {
        this.isGone = true
        if (this.stopAsked.size < hops.length && !this.terminated) {
          const errors = hops.map(({ label }) => new StartError('CLI_NODE_CRASHED', `${label} ended unexpectedly (its thread${this.sharedWith(label)} exited with code ${exitCode})`, { cause: uncaught }))
          this.crashErrors = errors
          hops.forEach(({ logger }, slot) => {
            logger.error('node.crashed', { exitCode, error: uncaught })
            crashed[slot]!(errors[slot]!)
          })
        }
        for (const waiting of this.pending.values()) waiting.reject(this.goneError(waiting.slot))
        this.pending.clear()
        resolve()
      })
    })
  }

  /** Whether the thread is still running (not yet ended). */
  get isRunning (): boolean {
    return !this.isGone
  }

  /** Resolves with the crash of the hop in `slot` if the thread ends unasked; else never. */
  crashed (slot: number): Promise<Error> {
    return this.crashes[slot]!
  }

  /** Send the hop in `slot` a request; resolves with its answer. */
  async call<K extends HopRequest['op']> (slot: number, request: HopRequest & { op: K }): Promise<HopAnswers[K]> {
    if (this.isGone) throw this.goneError(slot)
    const id = this.nextId++
    const answer = new Promise<unknown>((resolve, reject) => this.pending.set(id, { slot, resolve, reject }))
    this.worker.postMessage({ id, hop: slot, request } satisfies ToHop)
    return await answer as HopAnswers[K]
  }

  /**
   * Stop the hop in `slot`; the last of the thread's hops to stop also waits for the thread to
   * end (terminating it `graceMs` after). Throws the node's stop error, the crash if the
   * thread died before, or that the thread could not be ended.
   */
  async stopHop (slot: number): Promise<void> {
    let failure: Error | undefined = this.crashErrors?.[slot]
    this.stopAsked.add(slot)
    if (!this.isGone) {
      try {
        await this.call(slot, { op: 'stop' })
      } catch (err) {
        failure = err as Error
      }
    }
    if (this.stopAsked.size === this.hops.length) {
      this.ending ??= this.endThread()
      failure ??= await this.ending
    }
    if (failure !== undefined) throw failure
  }

  /**
   * End the thread now, whatever its nodes are doing (`up`'s shutdown ran out of time). Returns
   * at once: a thread blocked in native code ends only when it leaves it, if ever (`ended`).
   */
  terminate (reason: string): void {
    if (this.isGone || this.terminated) return
    this.terminated = true
    for (const { logger, label } of this.hops) logger.warn('thread.terminated', { reason, ...this.sharing(label) })
    void this.worker.terminate()
  }

  /** Wait for the thread to end, terminate it if it does not; the error if it still does not. */
  private async endThread (): Promise<Error | undefined> {
    if (await this.endsWithin(this.graceMs)) return undefined
    this.terminate(`still running ${this.graceMs} ms after its ${this.hops.length === 1 ? 'node' : 'nodes'} stopped`)
    if (await this.endsWithin(this.graceMs)) return undefined
    for (const { logger, label } of this.hops) logger.error('thread.stuck', { graceMs: this.graceMs, reason: 'still running after terminate()', ...this.sharing(label) })
    const labels = this.hops.map(({ label }) => label).join(' and ')
    return new StartError('CLI_THREAD_STUCK', `${labels}'s thread did not end when terminated`)
  }

  /** Whether the thread ends within `ms`. */
  private async endsWithin (ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined
    const ended = await Promise.race([
      this.ended.then(() => true),
      new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), ms) }),
    ])
    clearTimeout(timer)
    return ended
  }

  /** Why the hop in `slot` answers no more: its crash, or that it stopped. */
  private goneError (slot: number): Error {
    return this.crashErrors?.[slot] ?? new StartError('CLI_NODE_STOPPED', `${this.hops[slot]?.label ?? 'a hop'} has stopped`)
  }

  /** The other hops of the thread, as a log field (none if it runs one hop). */
  private sharing (label: string): { sharedWith?: string[] } {
    const others = this.hops.filter((hop) => hop.label !== label).map((hop) => hop.label)
    return others.length === 0 ? {} : { sharedWith: others }
  }

  /** The other hops of the thread, in words (', shared with mix[2]'). */
  private sharedWith (label: string): string {
    const others = this.sharing(label).sharedWith
    return others === undefined ? '' : `, shared with ${others.join(' and ')},`
  }

  private answer (message: FromHop): void {
    const waiting = this.pending.get(message.id)
    if (waiting === undefined) return
    this.pending.delete(message.id)
    if ('error' in message) waiting.reject(errorFromJson(message.error))
    else waiting.resolve(message.value)
  }
}
