/**
 * A hop of `mixgate up` in a worker thread (hop-thread-main.ts), seen from the parent: have it
 * make its keys and sign its descriptor, start it with the cascade, ask it for fresh
 * descriptors, stop it — and learn when it dies without being asked. The thread may run other
 * hops too (`up --hop-threads`); hop-worker.ts is the thread itself: its spawn, its crash (a
 * crash of each of its hops), and its end once the last of its hops stopped.
 */
import { signedNodeDescriptor, type NodeDescriptorJson } from '../../directory/descriptor.js'
import type { VerifiedCascade } from '../../directory/signed-cascade.js'
import { verifiedCascadeData, type HopPublicKeys, type HopAnswers, type HopRequest, type HopThreadConfig } from './hop-thread-protocol.js'
import { describeHopUnsigned, type DescribedHop } from '../start/node-descriptor.js'
import type { StartedNode } from '../start/start-node.js'
import { HopWorker, type HopWorkerOptions, type WorkerHop } from './hop-worker.js'

export type { HopThreadConfig } from './hop-thread-protocol.js'
export type { HopWorkerOptions, WorkerHop } from './hop-worker.js'

/** Spawn one thread for `hops`; their HopThreads, in the same order. */
export function spawnHopThreads (hops: readonly WorkerHop[], options: HopWorkerOptions = {}): HopThread[] {
  const worker = new HopWorker(hops, options)
  return hops.map((hop, slot) => new HopThread(hop.label, worker, slot))
}

export class HopThread {
  /** Resolves once the thread's code is loaded and crypto is ready (then prepare is quick). */
  readonly booted: Promise<void>
  /** Resolves with the reason if the thread ends before every hop in it was asked to stop; else never. */
  readonly crashed: Promise<Error>
  /** Resolves once the thread has ended, however. */
  readonly ended: Promise<void>
  /** What its descriptor says, from `prepare`. */
  private described: DescribedHop | undefined
  private stopping: Promise<void> | undefined

  constructor (readonly label: string, private readonly worker: HopWorker, private readonly slot: number) {
    this.booted = worker.booted
    this.crashed = worker.crashed(slot)
    this.ended = worker.ended
  }

  /** Whether the hop's thread is still running (not yet ended). */
  get isRunning (): boolean {
    return this.worker.isRunning
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
   * Have the hop's thread collect its garbage now (a burst of `up`'s streams ended): one
   * collection for every hop of the thread, logged under this hop's label.
   */
  async collect (streamsFreed: number): Promise<void> {
    await this.call({ op: 'collect', streamsFreed })
  }

  /**
   * Stop the node; if it is the last of its thread's hops to stop, also end the thread (at
   * most `graceMs` after the node stopped). Throws the node's stop error, or the crash if the
   * thread died before.
   */
  async stop (): Promise<void> {
    this.stopping ??= this.worker.stopHop(this.slot)
    await this.stopping
  }

  /**
   * End the hop's thread now, whatever its nodes are doing (`up`'s shutdown ran out of time):
   * the other hops in it end too. Returns at once (HopWorker.terminate).
   */
  terminate (reason: string): void {
    this.worker.terminate(reason)
  }

  /** The hop's descriptor built and checked here, signed in its thread. */
  private async signedDescriptor (keys: HopPublicKeys): Promise<NodeDescriptorJson> {
    const { unsigned, message } = describeHopUnsigned(this.described!, keys.identityKey, keys.linkKey, keys.epochKeys, Date.now() / 1000)
    return signedNodeDescriptor(unsigned, (await this.call({ op: 'sign', message })).signature)
  }

  private async call<K extends HopRequest['op']> (request: HopRequest & { op: K }): Promise<HopAnswers[K]> {
    return await this.worker.call<K>(this.slot, request)
  }
}
