/**
 * Whether a new connection may start a handshake: the listener asks before any crypto work
 * and closes the connection at once if not, with one of the stable `LinkRefusal` codes.
 * Per-source limits are checked first (they name the source at fault), then the listener's,
 * then the two rate buckets; a token is spent only by a connection that is admitted, so
 * refused connections cost nothing and a flood from one source leaves the others their
 * tokens. The caller reports the end of each admitted handshake and link; the counts here are
 * all that refusals are logged as above debug level (R19).
 */
import type { LinkLimits } from './limits.js'
import { sourceKey } from './source-key.js'
import { SourceTable, type SourceEntry } from './source-table.js'
import { TokenBucket } from './token-bucket.js'

export const LinkRefusal = {
  /** The listener has `maxHandshakes` handshakes in progress. */
  HANDSHAKES: 'LINK_REFUSED_HANDSHAKES',
  HANDSHAKES_PER_SOURCE: 'LINK_REFUSED_HANDSHAKES_PER_SOURCE',
  /** Open links plus handshakes in progress reached `maxLinks`. */
  LINKS: 'LINK_REFUSED_LINKS',
  LINKS_PER_SOURCE: 'LINK_REFUSED_LINKS_PER_SOURCE',
  /** The handshake bucket is empty. */
  RATE: 'LINK_REFUSED_RATE',
  RATE_PER_SOURCE: 'LINK_REFUSED_RATE_PER_SOURCE',
} as const

export type LinkRefusal = typeof LinkRefusal[keyof typeof LinkRefusal]

/** Connections refused so far, by reason. */
export interface RefusalCounts {
  readonly refusedHandshakes: number
  readonly refusedHandshakesPerSource: number
  readonly refusedLinks: number
  readonly refusedLinksPerSource: number
  readonly refusedRate: number
  readonly refusedRatePerSource: number
}

const COUNTER_OF: Record<LinkRefusal, keyof RefusalCounts> = {
  [LinkRefusal.HANDSHAKES]: 'refusedHandshakes',
  [LinkRefusal.HANDSHAKES_PER_SOURCE]: 'refusedHandshakesPerSource',
  [LinkRefusal.LINKS]: 'refusedLinks',
  [LinkRefusal.LINKS_PER_SOURCE]: 'refusedLinksPerSource',
  [LinkRefusal.RATE]: 'refusedRate',
  [LinkRefusal.RATE_PER_SOURCE]: 'refusedRatePerSource',
}

export class Admission {
  private readonly sources: SourceTable
  private readonly bucket: TokenBucket
  private handshakes = 0
  private links = 0
  private readonly refused: Record<keyof RefusalCounts, number> = {
    refusedHandshakes: 0,
    refusedHandshakesPerSource: 0,
    refusedLinks: 0,
    refusedLinksPerSource: 0,
    refusedRate: 0,
    refusedRatePerSource: 0,
  }

  constructor (private readonly limits: LinkLimits, private readonly now: () => number) {
    this.sources = new SourceTable(limits.handshakeRatePerSource, limits.handshakeBurstPerSource)
    this.bucket = new TokenBucket(limits.handshakeRate, limits.handshakeBurst, now())
  }

  get handshakesInProgress (): number {
    return this.handshakes
  }

  /** Sources (IPv4 addresses, IPv6 /64s) tracked now. */
  get trackedSources (): number {
    return this.sources.size
  }

  get refusals (): RefusalCounts {
    return { ...this.refused }
  }

  /** Admit a handshake from `address` (its share, to hand back later), or say why not. */
  admit (address: string): SourceEntry | LinkRefusal {
    const limits = this.limits
    const key = sourceKey(address)
    const source = this.sources.get(key)
    const now = this.now()
    let refusal: LinkRefusal | undefined
    if (source !== undefined && source.handshakes >= limits.maxHandshakesPerSource) refusal = LinkRefusal.HANDSHAKES_PER_SOURCE
    else if (source !== undefined && source.handshakes + source.links >= limits.maxLinksPerSource) refusal = LinkRefusal.LINKS_PER_SOURCE
    else if (this.handshakes >= limits.maxHandshakes) refusal = LinkRefusal.HANDSHAKES
    else if (this.handshakes + this.links >= limits.maxLinks) refusal = LinkRefusal.LINKS
    else if (source !== undefined && !source.bucket.canTake(now)) refusal = LinkRefusal.RATE_PER_SOURCE
    else if (!this.bucket.canTake(now)) refusal = LinkRefusal.RATE
    if (refusal !== undefined) {
      this.refused[COUNTER_OF[refusal]]++
      return refusal
    }
    this.bucket.take()
    const admitted = this.sources.use(key, now)
    // A new entry's bucket is full; an old one's was just checked.
    admitted.bucket.take()
    admitted.handshakes++
    this.handshakes++
    return admitted
  }

  /** An admitted handshake ended; `linked` if it became a link (then call `linkClosed` later). */
  handshakeEnded (source: SourceEntry, linked: boolean): void {
    source.handshakes--
    this.handshakes--
    if (linked) {
      source.links++
      this.links++
    } else {
      this.sources.released(source, this.now())
    }
  }

  linkClosed (source: SourceEntry): void {
    source.links--
    this.links--
    this.sources.released(source, this.now())
  }

  /** Forget sources whose buckets have refilled (the listener calls this now and then). */
  sweep (): void {
    this.sources.sweep(this.now())
  }
}
