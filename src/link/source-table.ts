/**
 * The listener's per-source shares: for each source (source-key.ts) that has a handshake in
 * progress, an open link, or a handshake bucket not yet refilled, how many of each it holds
 * and its bucket. Nothing else is kept, so the table stays bounded: an entry whose counts are
 * back to zero goes at once if its bucket is full, or at the first `sweep` after it refilled.
 * Entries are only added for connections the listener admits, so their number is bounded by
 * the global limits (docs/PROTOCOL.md §8.5 "Bounds").
 */
import { TokenBucket } from './token-bucket.js'

export class SourceEntry {
  handshakes = 0
  links = 0

  constructor (readonly key: string, readonly bucket: TokenBucket) {}

  get idle (): boolean {
    return this.handshakes === 0 && this.links === 0
  }
}

export class SourceTable {
  private readonly entries = new Map<string, SourceEntry>()
  /** Entries with nothing open whose bucket is still refilling: the only ones `sweep` visits. */
  private readonly refilling = new Set<SourceEntry>()

  constructor (private readonly rate: number, private readonly burst: number) {}

  /** Sources tracked now. */
  get size (): number {
    return this.entries.size
  }

  get (key: string): SourceEntry | undefined {
    return this.entries.get(key)
  }

  /** The entry of `key`, added with a full bucket if there is none; marked in use. */
  use (key: string, now: number): SourceEntry {
    let entry = this.entries.get(key)
    if (entry === undefined) {
      entry = new SourceEntry(key, new TokenBucket(this.rate, this.burst, now))
      this.entries.set(key, entry)
    } else {
      this.refilling.delete(entry)
    }
    return entry
  }

  /** Call when one of an entry's counts went down: an idle entry is dropped or left to refill. */
  released (entry: SourceEntry, now: number): void {
    if (!entry.idle) return
    if (entry.bucket.isFull(now)) this.forget(entry)
    else this.refilling.add(entry)
  }

  /** Drop the idle entries whose buckets have refilled. */
  sweep (now: number): void {
    for (const entry of this.refilling) {
      if (entry.bucket.isFull(now)) this.forget(entry)
    }
  }

  clear (): void {
    this.entries.clear()
    this.refilling.clear()
  }

  private forget (entry: SourceEntry): void {
    this.refilling.delete(entry)
    this.entries.delete(entry.key)
  }
}
