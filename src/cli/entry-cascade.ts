/**
 * What the entry mix's admin `/cascade` serves: a fresh cascade descriptor assembled from
 * its own fresh node descriptor and those of hops 2…n, fetched from their admin
 * `/descriptor` (the `peers` URLs) with undici.
 *
 * The result is pinned to the identity keys of the cascade the entry runs, and goes through
 * every check a client makes (createCascadeDescriptor), so the entry never serves something
 * clients would refuse — and clients check it again anyway. One assembly is kept for a
 * while (at most a minute, never across an epoch boundary) and shared by concurrent
 * requests, so a busy `/cascade` does not turn into a stream of requests to the peers.
 */
import { createCascadeDescriptor } from '../directory/signed-cascade.js'
import { fetchBytes } from '../directory/cascade-source.js'
import { parseDescriptorBytes } from '../directory/descriptor-json.js'
import type { NodeDescriptorJson } from '../directory/descriptor.js'
import { epochAt, type EpochSchedule } from '../protocol/epoch.js'
import type { Logger } from '../base/logger.js'

export interface EntryCascadeOptions {
  /** This node's fresh descriptor (undefined while it has no onion key to publish). */
  readonly own: () => NodeDescriptorJson | undefined
  /** Admin base URLs of hops 2…n, in hop order. */
  readonly peers: readonly string[]
  /** Identity keys of hops 1…n, in order (the cascade the entry runs). */
  readonly pins: readonly Uint8Array[]
  readonly schedule: EpochSchedule
  readonly logger: Logger
  readonly fetchTimeoutMs?: number
  /** How long one assembly is served (default 60 s). */
  readonly maxAgeMs?: number
  readonly clock?: () => number
}

/** A provider for the admin server's `/cascade`: the JSON text, or undefined (503) while a peer fails. */
export function entryCascadeProvider (options: EntryCascadeOptions): () => Promise<string | undefined> {
  const clock = options.clock ?? Date.now
  const maxAgeMs = options.maxAgeMs ?? 60_000
  let cached: { text: string, atMs: number, epoch: number } | undefined
  let pending: Promise<string | undefined> | undefined
  const assemble = async (): Promise<string | undefined> => {
    const own = options.own()
    if (own === undefined) return undefined
    try {
      const peers = await Promise.all(options.peers.map(async (base) => {
        const url = new URL('descriptor', base.endsWith('/') ? base : base + '/').href
        return parseDescriptorBytes(await fetchBytes(url, options.fetchTimeoutMs ?? 5_000))
      }))
      const descriptor = createCascadeDescriptor([own, ...peers], { now: clock() / 1000, pinnedIdentities: options.pins })
      const text = JSON.stringify(descriptor, null, 2) + '\n'
      cached = { text, atMs: clock(), epoch: epochAt(options.schedule, clock() / 1000) }
      return text
    } catch (err) {
      options.logger.warn('cascade.assemble_failed', { error: err })
      return undefined
    }
  }
  return async () => {
    const nowMs = clock()
    if (cached !== undefined && nowMs - cached.atMs < maxAgeMs && cached.epoch === epochAt(options.schedule, nowMs / 1000)) return cached.text
    pending ??= assemble().finally(() => { pending = undefined })
    return pending
  }
}
