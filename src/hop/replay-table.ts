/**
 * The replay tag table of one epoch key (DESIGN-REVIEW R6).
 *
 * A hop derives a 16-byte tag from each CREATE's shared secret, after the layer's AEAD has
 * verified, and asks this table whether it has seen it. A JS `Set` of hex strings would cost
 * ~100 B per tag and throws past 2^24 entries; this is open addressing over 16-byte slots
 * (linear probing) plus an occupancy bitmap, ~22 B per tag at the default load. It fails
 * closed: once `capacity` tags are stored, new tags are refused (`'full'`) and old ones are
 * never evicted, since evicting would reopen replay. Size it as
 * 2 · maxCreateRate · (key lifetime + grace) and `clear()` it when the key is erased.
 *
 * Storage grows with the tags instead of being sized for the bound at start: the default
 * bound (2^18 tags, 5.6 MB) is an hour of the highest CREATE rate, while a hop of `mixgate up`
 * sees a few dozen CREATEs per key, and every hop holds up to two keys' tables (issue #17).
 * It grows by levels, not by rehashing: when the newest level reaches its load, a level twice
 * its size is added (the last one cut to what the bound leaves), and a lookup probes every
 * level. Rehashing would cost one keyed hash per stored tag in a single step — about 0.1 s at
 * 2^17 tags, a stall of the hop's rounds (R17) — while the levels cost a few extra probes per
 * CREATE, ≤ 10 at the default bound. At the bound the levels hold as many slots as one table
 * would. If memory for a new level cannot be had, the tag is refused as `'full'`: fail closed.
 *
 * The slot index is a keyed BLAKE2b of the tag under a random per-table key, not the tag's
 * first bytes. Tags look random to outsiders, but the client that built a CREATE knows its
 * shared secrets and so its tags: it could grind CREATEs whose tags land in one run of slots
 * and make every later lookup walk that run. Unpredictable indexes remove that lever for ~1 µs
 * per CREATE, next to the X25519 the CREATE already cost. One hash serves every level.
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
/** Tags the first level holds (22 KB at the default load): a local cascade never needs a second. */
const FIRST_LEVEL_TAGS = 1024
const INDEX_KEY_BYTES = 32
const WORDS_PER_TAG = REPLAY_TAG_BYTES / 4

/** One fixed open-addressing table: the tag bytes of every slot, and which slots hold one. */
interface Level {
  /** Tags this level takes before the next level is added. */
  readonly capacity: number
  readonly slots: number
  /** 4 words per slot. */
  readonly words: Uint32Array
  /** One bit per slot: set when the slot holds a tag (so an all-zero tag is an ordinary tag). */
  readonly occupied: Uint32Array
  stored: number
}

export class ReplayTable {
  /** Tags stored before new ones are refused. */
  readonly capacity: number
  private readonly maxLoad: number
  /** Oldest first; new tags go into the last. */
  private levels: Level[]
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
    this.maxLoad = maxLoad
    this.levels = [this.level(Math.min(capacity, FIRST_LEVEL_TAGS))]
    this.indexKey = randomBytes(INDEX_KEY_BYTES)
  }

  /** Tags stored. */
  get size (): number {
    return this.stored
  }

  /** Slots allocated now, over every level (each level keeps at least one empty). */
  get slots (): number {
    return this.levels.reduce((sum, level) => sum + level.slots, 0)
  }

  /** Bytes held by the table's storage now (for memory accounting). */
  get byteLength (): number {
    return this.levels.reduce((sum, level) => sum + level.words.byteLength + level.occupied.byteLength, 0)
  }

  /**
   * `'replay'` if `tag` is stored; otherwise store it and answer `'fresh'`, or, when the table
   * already holds `capacity` tags (or memory for its next level cannot be had), store nothing
   * and answer `'full'` (refuse the CREATE). Throws `MixError` `MIX_BAD_TAG` unless `tag` is
   * 16 bytes.
   */
  checkAndInsert (tag: Uint8Array): ReplayVerdict {
    if (tag.length !== REPLAY_TAG_BYTES) {
      throw new MixError(MixErrorCode.BAD_TAG, `replay tag must be ${REPLAY_TAG_BYTES} bytes`)
    }
    this.probeBytes.set(tag)
    const hash = this.hashOf(tag)
    const levels = this.levels
    let slot = -1
    for (let i = 0; i < levels.length; i++) {
      slot = this.find(levels[i]!, hash % levels[i]!.slots)
      if (slot < 0) return 'replay'
    }
    if (this.stored >= this.capacity) return 'full'
    let newest = levels[levels.length - 1]!
    if (newest.stored >= newest.capacity) {
      const grown = this.grow(newest)
      if (grown === undefined) return 'full'
      newest = grown
      slot = this.find(newest, hash % newest.slots)
    }
    newest.words.set(this.probe, slot * WORDS_PER_TAG)
    newest.occupied[slot >>> 5]! |= 1 << (slot & 31)
    newest.stored++
    this.stored++
    return 'fresh'
  }

  /** Forget every tag: zero the storage, keep only the first level, and draw a new index key (the epoch key is gone). */
  clear (): void {
    for (const level of this.levels) {
      level.words.fill(0)
      level.occupied.fill(0)
      level.stored = 0
    }
    this.levels = [this.levels[0]!]
    this.probe.fill(0)
    memzero(this.indexKey)
    this.indexKey = randomBytes(INDEX_KEY_BYTES)
    this.stored = 0
  }

  /**
   * Probe `level` for the tag in `probe` from slot `start`: −1 if it is stored there, else the
   * first empty slot met (where it would go).
   */
  private find (level: Level, start: number): number {
    const probe = this.probe
    const p0 = probe[0]!
    const p1 = probe[1]!
    const p2 = probe[2]!
    const p3 = probe[3]!
    const { words, occupied, slots } = level
    let slot = start
    while ((occupied[slot >>> 5]! & (1 << (slot & 31))) !== 0) {
      const w = slot * WORDS_PER_TAG
      if (((words[w]! ^ p0) | (words[w + 1]! ^ p1) | (words[w + 2]! ^ p2) | (words[w + 3]! ^ p3)) === 0) return -1
      slot = slot + 1 === slots ? 0 : slot + 1
    }
    return slot
  }

  /** Add a level twice `newest`'s size, cut to what the bound leaves; undefined if memory fails. */
  private grow (newest: Level): Level | undefined {
    const left = this.capacity - this.levels.reduce((sum, level) => sum + level.capacity, 0)
    try {
      const level = this.level(Math.min(2 * newest.capacity, left))
      this.levels.push(level)
      return level
    } catch (err) {
      if (err instanceof RangeError) return undefined
      throw err
    }
  }

  /** An empty level for `capacity` tags, at most `maxLoad` full then. */
  private level (capacity: number): Level {
    const slots = Math.max(capacity + 1, Math.ceil(capacity / this.maxLoad))
    return { capacity, slots, words: new Uint32Array(slots * WORDS_PER_TAG), occupied: new Uint32Array(Math.ceil(slots / 32)), stored: 0 }
  }

  /** 48 bits of a keyed hash of the tag; each level reduces it modulo its slots. */
  private hashOf (tag: Uint8Array): number {
    const h = blake2b(16, tag, this.indexKey)
    const low = (h[0]! | (h[1]! << 8) | (h[2]! << 16) | (h[3]! << 24)) >>> 0
    const high = h[4]! | (h[5]! << 8)
    return high * 0x1_0000_0000 + low
  }
}
