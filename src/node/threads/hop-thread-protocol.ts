/**
 * What the parent of `mixgate up` and a hop worker thread (hop-worker.ts, hop-thread-main.ts)
 * say to each other: small JSON objects, never cells or keys. A thread runs one or more hops
 * (`up --hop-threads`), each in its slot: every request names the slot (`hop`, its index in
 * HopWorkerData.roles). Each hop's sockets and keys live in its thread; the parent only
 * starts, asks and stops.
 *
 *   ← { id: 0, value: {} }                      the thread's code is loaded and crypto ready
 *   → { id, hop, request: { op: 'prepare', config } } make (or load) the hop's keys: HopThreadConfig
 *   ← { id, value: { keys } }                    its public keys (HopPublicKeys)
 *   → { id, request: { op: 'sign', message } }   sign with the identity key
 *   ← { id, value: { signature } }
 *   → { id, request: { op: 'start', cascade } }  start in the cascade the parent verified
 *                                                 (VerifiedCascadeData)
 *   ← { id, value: { listening, adminUrl? } }
 *   → { id, request: { op: 'describe' } }        its current public keys again (the client's
 *                                                 refresh of the cascade descriptor)
 *   → { id, request: { op: 'waitForSuccessor', timeoutMs } }  → { id, value: { up } }
 *   → { id, request: { op: 'collect', streamsFreed } }  collect the thread's garbage now (a
 *                                                 burst of `up`'s streams ended:
 *                                                 burst-collector.ts); → { id, value: {} }
 *   → { id, request: { op: 'stop' } }            stop the node, wipe the keys; after the
 *                                                 answer to the last of its hops' stops the
 *                                                 thread ends. The only expected end.
 *
 * (Each → carries `hop` as the first does.) Any request may be answered { id, error } instead.
 * The thread's workerData (HopWorkerData) names its hops' roles before any message.
 *
 * The parent builds, checks and assembles the node descriptors and verifies the cascade
 * descriptor; the thread only signs what it is sent (one process, one trust domain) and
 * keeps its secret keys. So a hop's thread never loads the descriptor schemas (zod: about
 * 5 MB of heap per thread, issue #17).
 *
 * Errors travel as { name, code, message } (a MixgateError: its message is safe to show) or
 * with a stack (anything else: a bug, whose stack helps a report).
 */
import type { EpochKey } from '../../directory/descriptor.js'
import type { VerifiedCascade } from '../../directory/signed-cascade.js'
import type { CascadeParams } from '../../protocol/cascade-params.js'
import type { HopVerifiedCascade } from '../start/node-setup.js'
import { MixgateError } from '../../errors.js'
import type { HostPort } from '../../base/address.js'
import { KeysError, type KeysErrorCode } from '../../protocol/keys-errors.js'
import type { DescribedHop } from '../start/node-descriptor.js'
import type { LogSettings } from '../start/node-setup.js'
import { StartError } from '../start/start-node.js'
import type { ExitLimits } from '../../exit/limits.js'

/** What the thread is given at spawn. */
export interface HopWorkerData {
  /**
   * Its hops' roles, one per slot: the thread loads their code while booting, and ends once
   * every slot was stopped.
   */
  readonly roles: ReadonlyArray<'mix' | 'exit'>
}

/** A hop as the parent planned it (sent with `prepare`). */
export interface HopThreadConfig {
  /** `mix[N]` or `exit`: the log label. */
  readonly label: string
  readonly position: number
  /** Role, address and the cascade's parameters, as its descriptor will say. */
  readonly described: DescribedHop
  readonly log: LogSettings
  /** With a state dir: the hop's key dir, made by keygen in the thread; else keys in memory. */
  readonly keyDir?: string
  /** Tags per durable onion key (its tag log's capacity: the replay table's). */
  readonly replayCapacity: number
  readonly admin?: HostPort
  /** Entry with a state dir: the admin URLs of hops 2…n, to serve /cascade. */
  readonly peers?: readonly string[]
  /** Exit only. */
  readonly exitPolicy?: readonly string[]
  readonly dnsServers?: readonly string[]
  /** Exit only: caps other than the config defaults (`up` raises maxOutbound). */
  readonly limits?: Partial<ExitLimits>
}

/** What a hop's node descriptor says of its keys: identity, link and current onion public keys. */
export interface HopPublicKeys {
  readonly identityKey: Uint8Array
  readonly linkKey: Uint8Array
  readonly epochKeys: readonly EpochKey[]
}

/** A verified cascade descriptor as plain data (structured clone): what a hop thread starts from. */
export interface VerifiedCascadeData {
  readonly id: Uint8Array
  readonly params: CascadeParams
  readonly validUntil: number
  /** Epochs every hop has an onion key for. */
  readonly epochs: readonly number[]
  readonly nodes: ReadonlyArray<{
    readonly role: 'mix' | 'exit'
    readonly address: HostPort
    readonly linkKey: Uint8Array
    readonly identityKey: Uint8Array
    /** Its onion keys of `epochs`, by epoch. */
    readonly onionKeys: ReadonlyMap<number, Uint8Array>
  }>
}

export type HopRequest =
  | { readonly op: 'prepare', readonly config: HopThreadConfig }
  | { readonly op: 'sign', readonly message: Uint8Array }
  | { readonly op: 'start', readonly cascade: VerifiedCascadeData }
  | { readonly op: 'describe' }
  | { readonly op: 'waitForSuccessor', readonly timeoutMs: number }
  | { readonly op: 'collect', readonly streamsFreed: number }
  | { readonly op: 'stop' }

/** What each request answers with. */
export interface HopAnswers {
  readonly prepare: { readonly keys: HopPublicKeys }
  readonly sign: { readonly signature: Uint8Array }
  readonly start: { readonly listening: string, readonly adminUrl?: string }
  readonly describe: { readonly keys: HopPublicKeys }
  readonly waitForSuccessor: { readonly up: boolean }
  readonly collect: Record<string, never>
  readonly stop: Record<string, never>
}

/** What the parent sends of a cascade it verified. */
export function verifiedCascadeData (verified: VerifiedCascade): VerifiedCascadeData {
  return {
    id: verified.id,
    params: verified.params,
    validUntil: verified.validUntil,
    epochs: verified.epochs,
    nodes: verified.nodes.map((node, i) => ({
      role: node.role,
      address: node.address,
      linkKey: node.linkKey,
      identityKey: node.identityKey,
      onionKeys: new Map(verified.epochs.flatMap((epoch) => {
        const key = verified.onionKey(i + 1, epoch)
        return key === undefined ? [] : [[epoch, key] as const]
      })),
    })),
  }
}

/** The thread's side: the data as what cascadeFromVerified and a hop's setup read of a verified cascade. */
export function fromVerifiedCascadeData (data: VerifiedCascadeData): VerifiedCascadeData & HopVerifiedCascade {
  return { ...data, onionKey: (position, epoch) => data.nodes[position - 1]?.onionKeys.get(epoch) }
}

/** Parent → thread. Ids start at 1: 0 is the answer the thread gives unasked, once booted. */
export interface ToHop {
  readonly id: number
  /** The hop's slot in its thread. */
  readonly hop: number
  readonly request: HopRequest
}

/** Thread → parent. */
export type FromHop =
  | { readonly id: number, readonly value: unknown }
  | { readonly id: number, readonly error: ErrorJson }

/** The id of the thread's first message: its code is loaded and crypto is ready. */
export const BOOTED_ID = 0

export interface ErrorJson {
  readonly name: string
  readonly message: string
  readonly code?: string
  readonly stack?: string
}

export function errorToJson (err: unknown): ErrorJson {
  if (err instanceof MixgateError) return { name: err.name, code: err.code, message: err.message }
  if (err instanceof Error) return { name: err.name, message: err.message, ...(err.stack === undefined ? {} : { stack: err.stack }) }
  return { name: 'Error', message: String(err) }
}

/**
 * The error again, as the command reports it: a KeysError stays one (an operator's to fix:
 * status 2), any other MixgateError becomes a StartError with its code and message (status 1,
 * the same words on standard error as in one thread), anything else a plain Error.
 */
export function errorFromJson (json: ErrorJson): Error {
  if (json.code === undefined) {
    const err = new Error(json.message)
    err.name = json.name
    if (json.stack !== undefined) err.stack = json.stack
    return err
  }
  if (json.name === 'KeysError') return new KeysError(json.code as KeysErrorCode, json.message)
  return new StartError(json.code, json.message)
}
