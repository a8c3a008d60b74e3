/**
 * The parent's side of a hop of `mixgate up` that runs in its own worker thread
 * (hop-thread-main.ts): spawn it, have it make its keys and sign its descriptor, start it
 * with the cascade, ask it for fresh descriptors, stop it — and notice when it dies
 * without being asked.
 *
 * The thread's end is expected only after a stop request; any other end (an uncaught error
 * in the hop, an out-of-memory kill of the thread) is a crash: logged as `node.crashed`
 * under the hop's label, open requests fail, `crashed` resolves, and `stop()` then throws
 * it, so that `up` ends with status 1 as a crashed node in one process would.
 *
 * stop() asks the node to stop (it closes its links and keys in its thread) and waits for
 * the thread to end; a thread that outlives `graceMs` after that is terminated. One still
 * running `graceMs` after terminate() is blocked where termination cannot reach (native code):
 * it is logged as `thread.stuck` and stop() throws; the process must not wait for it
 * (`process.exit` would: src/node/hard-exit.ts ends the process instead).
 */
import { Worker } from 'node:worker_threads'
import { signedNodeDescriptor, type NodeDescriptorJson } from '../../directory/descriptor.js'
import type { VerifiedCascade } from '../../directory/signed-cascade.js'
import type { Logger } from '../../base/logger.js'
import { errorFromJson, verifiedCascadeData, BOOTED_ID, type HopPublicKeys, type HopWorkerData, type FromHop, type HopAnswers, type HopRequest, type HopThreadConfig, type ToHop } from './hop-thread-protocol.js'
import { describeHopUnsigned, type DescribedHop } from '../start/node-descriptor.js'
import { StartError, type StartedNode } from '../start/start-node.js'

export type { HopThreadConfig } from './hop-thread-protocol.js'

export interface HopThreadOptions {
  /** The thread's script (default: the compiled hop-thread-main.js next to this file). */
  readonly entry?: URL
  /** How long the thread may take to end once its node stopped (default 3000 ms). */
  readonly graceMs?: number
  /**
   * The hop's role, if known at spawn: the thread then loads that role's code while it boots
   * (before `up` chooses ports), and only that role's.
   */
  readonly role?: 'mix' | 'exit'
}

const ENTRY = new URL('./hop-thread-main.js', import.meta.url)
const DEFAULT_GRACE_MS = 3000
/**
 * The hop's young generation, in MB (V8 makes it three semi-spaces: 2 MB each). Left to V8, a
 * busy hop's grows to 48 MB, and the Buffers its garbage holds wait as long: `mixgate up`
 * idled at 217 MB RSS that way and at 162–178 MB with this cap, and its CPU for 2 × 64 MiB
 * did not measurably change (7.4–7.9 s against 8.9 s, load 7–9). 3 MB (1 MB semi-spaces)
 * cost CPU, more scavenges: 9.2–10.2 s (issue #17, docs/BENCH.md).
 */
const HOP_YOUNG_GENERATION_MB = 6

interface Pending {
  resolve (value: unknown): void
  reject (err: Error): void
}

export class HopThread {
  /** Resolves once the thread's code is loaded and crypto is ready (then prepare is quick). */
  readonly booted: Promise<void>
  /** Resolves with the reason if the thread ends without a stop request; else never. */
  readonly crashed: Promise<Error>
  /** Resolves once the thread has ended, however. */
  readonly ended: Promise<void>
  private readonly worker: Worker
  private readonly pending = new Map<number, Pending>()
  private readonly graceMs: number
  private nextId = BOOTED_ID + 1
  /** What its descriptor says, from `prepare`. */
  private described: DescribedHop | undefined
  private stopping: Promise<void> | undefined
  /** terminate() was called: the thread's end is expected, not a crash. */
  private terminated = false
  /** Why the thread is gone (set when it ended). */
  private gone: Error | undefined
  private crash: Error | undefined

  /** Spawn the thread of the hop labelled `label` (`mix[N]`, `exit`); thread events are logged to `logger`. */
  constructor (readonly label: string, private readonly logger: Logger, options: HopThreadOptions = {}) {
    this.graceMs = options.graceMs ?? DEFAULT_GRACE_MS
    this.booted = new Promise<unknown>((resolve, reject) => this.pending.set(BOOTED_ID, { resolve, reject })).then(() => {})
    // Awaited by whoever starts the cascade; a thread that fails first must not be an unhandled rejection.
    this.booted.catch(() => {})
    let crashed!: (err: Error) => void
    this.crashed = new Promise((resolve) => { crashed = resolve })

    this.worker = new Worker(options.entry ?? ENTRY, {
      resourceLimits: { maxYoungGenerationSizeMb: HOP_YOUNG_GENERATION_MB },
      workerData: { role: options.role } satisfies HopWorkerData,
    })
    let uncaught: Error | undefined
    this.worker.on('message', (message: FromHop) => this.answer(message))
    this.worker.on('error', (err) => { uncaught = err })
    this.ended = new Promise((resolve) => {
      this.worker.once('exit', (exitCode) => {
        if (this.stopping === undefined && !this.terminated) {
          this.crash = new StartError('CLI_NODE_CRASHED', `${label} ended unexpectedly (its thread exited with code ${exitCode})`, { cause: uncaught })
          this.logger.error('node.crashed', { exitCode, error: uncaught })
          crashed(this.crash)
        }
        this.gone = this.crash ?? new StartError('CLI_NODE_STOPPED', `${label} has stopped`)
        for (const waiting of this.pending.values()) waiting.reject(this.gone)
        this.pending.clear()
        resolve()
      })
    })
  }

  /** Whether the thread is still running (not yet ended). */
  get isRunning (): boolean {
    return this.gone === undefined
  }

  /** Have the thread make or load the hop's keys; resolves with its signed node descriptor. */
  async prepare (config: HopThreadConfig): Promise<NodeDescriptorJson> {
    this.described = config.described
    return await this.signedDescriptor((await this.call({ op: 'prepare', config })).keys)
  }

  /** A fresh signed node descriptor (current onion keys, published now). */
  async describe (): Promise<NodeDescriptorJson> {
    return await this.signedDescriptor((await this.call({ op: 'describe' })).keys)
  }

  /** Start the hop in the cascade `verified` here; resolves once it listens (and serves its admin port). */
  async start (verified: VerifiedCascade): Promise<StartedNode> {
    const { listening, adminUrl } = await this.call({ op: 'start', cascade: verifiedCascadeData(verified) })
    return {
      role: this.described!.role,
      listening,
      ...(adminUrl === undefined ? {} : { adminUrl }),
      stop: async () => await this.stop(),
    }
  }

  /** For a mix: whether its link to the next hop came up within `timeoutMs`. */
  async successorWithin (timeoutMs: number): Promise<boolean> {
    return (await this.call({ op: 'waitForSuccessor', timeoutMs })).up
  }

  /**
   * Stop the node and end the thread (at most `graceMs` after the node stopped). Throws the
   * node's stop error, or the crash if the thread died before.
   */
  async stop (): Promise<void> {
    this.stopping ??= this.stopThread()
    await this.stopping
  }

  /**
   * End the thread now, whatever its node is doing (`up`'s shutdown ran out of time). Returns
   * at once: a thread blocked in native code ends only when it leaves it, if ever (`ended`).
   */
  terminate (reason: string): void {
    if (this.gone !== undefined || this.terminated) return
    this.terminated = true
    this.logger.warn('thread.terminated', { reason })
    void this.worker.terminate()
  }

  private async stopThread (): Promise<void> {
    let failure: Error | undefined = this.crash
    if (this.gone === undefined) {
      try {
        await this.call({ op: 'stop' })
      } catch (err) {
        failure = err as Error
      }
    }
    if (!await this.endsWithin(this.graceMs)) {
      this.terminate(`still running ${this.graceMs} ms after its node stopped`)
      if (!await this.endsWithin(this.graceMs)) {
        this.logger.error('thread.stuck', { graceMs: this.graceMs, reason: 'still running after terminate()' })
        failure ??= new StartError('CLI_THREAD_STUCK', `${this.label}'s thread did not end when terminated`)
      }
    }
    if (failure !== undefined) throw failure
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

  /** The hop's descriptor built and checked here, signed in its thread. */
  private async signedDescriptor (keys: HopPublicKeys): Promise<NodeDescriptorJson> {
    const { unsigned, message } = describeHopUnsigned(this.described!, keys.identityKey, keys.linkKey, keys.epochKeys, Date.now() / 1000)
    return signedNodeDescriptor(unsigned, (await this.call({ op: 'sign', message })).signature)
  }

  private async call<K extends HopRequest['op']> (request: HopRequest & { op: K }): Promise<HopAnswers[K]> {
    if (this.gone !== undefined) throw this.gone
    const id = this.nextId++
    const answer = new Promise<unknown>((resolve, reject) => this.pending.set(id, { resolve, reject }))
    this.worker.postMessage({ id, request } satisfies ToHop)
    return await answer as HopAnswers[K]
  }

  private answer (message: FromHop): void {
    const waiting = this.pending.get(message.id)
    if (waiting === undefined) return
    this.pending.delete(message.id)
    if ('error' in message) waiting.reject(errorFromJson(message.error))
    else waiting.resolve(message.value)
  }
}
