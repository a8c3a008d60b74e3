/**
 * The exit's cap on concurrent DNS queries (issue #10): a resolver in front of the pinned one
 * that lets at most `slots.limit` queries run at once, across all circuits. A name over the
 * cap fails at once with RESOURCE_LIMIT; IP literals and `localhost`, which query nothing,
 * never wait for a slot. PTR lookups (RESOLVE_PTR) take a slot like any query.
 */
import { EndReason } from '../protocol/end-reason.js'
import { needsQuery, type HostResolver, type ResolveResult, type ReverseResolver, type ReverseResult } from './resolver.js'
import type { Slots } from './slots.js'

const OVER_LIMIT = Object.freeze({ ok: false, reason: EndReason.RESOURCE_LIMIT } as const)

export class QueryLimitedResolver implements HostResolver, ReverseResolver {
  private readonly resolver: HostResolver & Partial<ReverseResolver>
  private readonly slots: Slots

  constructor (resolver: HostResolver & Partial<ReverseResolver>, slots: Slots) {
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

  /** A PTR lookup always sends a query, so it always needs a slot. */
  async reverse (ip: string): Promise<ReverseResult> {
    if (this.resolver.reverse === undefined) return { ok: false, reason: EndReason.RESOLVE_FAILED }
    if (!this.slots.tryTake()) return OVER_LIMIT
    try {
      return await this.resolver.reverse(ip)
    } finally {
      this.slots.release()
    }
  }
}
