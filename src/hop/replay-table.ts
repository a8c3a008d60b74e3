/**
 * The replay tag table of one epoch key (DESIGN-REVIEW R6).
 *
 * A hop derives a 16-byte tag from each CREATE's shared secret, after the layer's AEAD has
 * verified, and asks this table whether it has seen it. A JS `Set` of hex strings would cost
 * ~100 B per tag and throws past 2^24 entries; this is a fixed open-addressing table of 16-byte
 * slots (linear probing) plus an occupancy bitmap, allocated once, ~22 B per tag at the default
 * load. It fails closed: once `capacity` tags are stored, new tags are refused (`'full'`) and
 * old ones are never evicted, since evicting would reopen replay. Size it as
 * 2 · maxCreateRate · (key lifetime + grace) and `clear()` it when the key is erased.
 *
 * The slot index is a keyed BLAKE2b of the tag under a random per-table key, not the tag's
 * first bytes. Tags look random to outsiders, but the client that built a CREATE knows its
 * shared secrets and so its tags: it could grind CREATEs whose tags land in one run of slots
 * and make every later lookup walk that run. Unpredictable indexes remove that lever for ~1 µs
 * per CREATE, next to the X25519 the CREATE already cost.
 *
 * Tag comparison is a branch-free XOR/OR over four 32-bit words, not `equal()`: `equal()` would
 * copy both operands into the WebAssembly heap on every probe, and there is no secret for it to
 * protect. A tag is not a key: it only names a CREATE already processed, and knowing it lets no
 * one forge or replay anything. A lookup's time already depends on how many slots it probes
 * (that is what a hash table is). Even so, the comparison has no early exit.
 */
import { blake2b, memzero, randomBytes } from '../crypto/index.js'
import { MixError, MixErrorCode } from './errors.js'

export const REPLAY_TAG_BYTES = 16

export type ReplayVerdict = 'fresh' | 'replay' | 'full'

export interface ReplayTableOptions {
  /** How many tags the table stores before it answers `'full'`. */
  capacity: number
  /** Highest fraction of slots ever in use, in (0, 1); default 0.75. Lower is faster, larger. */
  maxLoad?: number
}

/** 2^26 tags (~1.5 GB at the default load) is far beyond any sane CREATE rate × lifetime. */
const MAX_CAPACITY = 2 ** 26
const INDEX_KEY_BYTES = 32
const WORDS_PER_TAG = REPLAY_TAG_BYTES / 4

export class ReplayTable {
  /** Tags stored before new ones are refused. */
  readonly capacity: number
  /** Slots in the table (> capacity, so a probe always meets an empty slot). */
  readonly slots: number
  /** Tag bytes of every slot, 4 words per slot, in one preallocated buffer. */
  private readonly words: Uint32Array
  /** One bit per slot: set when the slot holds a tag (so an all-zero tag is an ordinary tag). */
  private readonly occupied: Uint32Array
  /** The tag being looked up, as words (same byte order as `words`, so compares are exact). */
  private readonly probe = new Uint32Array(WORDS_PER_TAG)
  private readonly probeBytes = new Uint8Array(this.probe.buffer)
  private indexKey: Uint8Array
  private stored = 0

  constructor (options: ReplayTableOptions) {
    const { capacity } = options
    const maxLoad = options.maxLoad ?? 0.75
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_CAPACITY) {
      throw new MixError(MixErrorCode.BAD_OPTION, `replay table capacity must be an integer in [1, ${MAX_CAPACITY}]`)
    }
    if (!(maxLoad > 0 && maxLoad < 1)) {
      throw new MixError(MixErrorCode.BAD_OPTION, 'replay table maxLoad must be in (0, 1)')
    }
    this.capacity = capacity
    this.slots = Math.max(capacity + 1, Math.ceil(capacity / maxLoad))
    this.words = new Uint32Array(this.slots * WORDS_PER_TAG)
    this.occupied = new Uint32Array(Math.ceil(this.slots / 32))
    // Touch every page now: the memory is committed at start-up (where a shortage fails
    // loudly) instead of page by page as CREATEs arrive.
    this.words.fill(0)
    this.occupied.fill(0)
    this.indexKey = randomBytes(INDEX_KEY_BYTES)
  }

  /** Tags stored. */
  get size (): number {
    return this.stored
  }

  /** Bytes held by the table's storage (for memory accounting). */
  get byteLength (): number {
    return this.words.byteLength + this.occupied.byteLength
  }

  /**
   * `'replay'` if `tag` is stored; otherwise store it and answer `'fresh'`, or, when the table
   * already holds `capacity` tags, store nothing and answer `'full'` (refuse the CREATE).
   * Throws `MixError` `MIX_BAD_TAG` unless `tag` is 16 bytes.
   */
  checkAndInsert (tag: Uint8Array): ReplayVerdict {
    if (tag.length !== REPLAY_TAG_BYTES) {
      throw new MixError(MixErrorCode.BAD_TAG, `replay tag must be ${REPLAY_TAG_BYTES} bytes`)
    }
    const probe = this.probe
    this.probeBytes.set(tag)
    const p0 = probe[0]!
    const p1 = probe[1]!
    const p2 = probe[2]!
    const p3 = probe[3]!
    const words = this.words
    const occupied = this.occupied
    const slots = this.slots

    let slot = this.slotOf(tag)
    while ((occupied[slot >>> 5]! & (1 << (slot & 31))) !== 0) {
      const w = slot * WORDS_PER_TAG
      if (((words[w]! ^ p0) | (words[w + 1]! ^ p1) | (words[w + 2]! ^ p2) | (words[w + 3]! ^ p3)) === 0) {
        return 'replay'
      }
      slot = slot + 1 === slots ? 0 : slot + 1
    }
    if (this.stored >= this.capacity) return 'full'
    words.set(probe, slot * WORDS_PER_TAG)
    occupied[slot >>> 5]! |= 1 << (slot & 31)
    this.stored++
    return 'fresh'
  }

  /** Forget every tag: zero the storage and draw a new index key (the epoch key is gone). */
  clear (): void {
    this.words.fill(0)
    this.occupied.fill(0)
    this.probe.fill(0)
    memzero(this.indexKey)
    this.indexKey = randomBytes(INDEX_KEY_BYTES)
    this.stored = 0
  }

  /** The first slot to probe: 48 bits of a keyed hash of the tag, reduced modulo `slots`. */
  private slotOf (tag: Uint8Array): number {
    const h = blake2b(16, tag, this.indexKey)
    const low = (h[0]! | (h[1]! << 8) | (h[2]! << 16) | (h[3]! << 24)) >>> 0
    const high = h[4]! | (h[5]! << 8)
    return (high * 0x1_0000_0000 + low) % this.slots
  }
}
