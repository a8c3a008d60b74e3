/**
 * The exit's cap on concurrent DNS queries (issue #10): a resolver in front of the pinned one
 * that lets at most `slots.limit` queries run at once, across all circuits. A name over the
 * cap fails at once with RESOURCE_LIMIT; IP literals and `localhost`, which query nothing,
 * never wait for a slot.
 */
import { EndReason } from '../protocol/end-reason.js'
import { needsQuery, type HostResolver, type ResolveResult } from './resolver.js'
import type { Slots } from './slots.js'

const OVER_LIMIT: ResolveResult = Object.freeze({ ok: false, reason: EndReason.RESOURCE_LIMIT })

export class QueryLimitedResolver implements HostResolver {
  private readonly resolver: HostResolver
  private readonly slots: Slots

  constructor (resolver: HostResolver, slots: Slots) {
    this.resolver = resolver
    this.slots = slots
  }

  async resolve (host: string): Promise<ResolveResult> {
    if (!needsQuery(host)) return await this.resolver.resolve(host)
    if (!this.slots.tryTake()) return OVER_LIMIT
    try {
      return await this.resolver.resolve(host)
    } finally {
      this.slots.release()
    }
  }
}
