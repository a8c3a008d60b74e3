/**
 * The replay tag table (R6): a tag is fresh once and a replay ever after, the all-zero tag is an
 * ordinary tag, a full table refuses new tags and never evicts old ones, clear() forgets (and
 * zeroes) everything, the storage grows with the tags up to the bound (by levels), and random
 * workloads match a reference Set.
 */
import t from 'tap'
import fc from 'fast-check'
import { cryptoReady, randomBytes } from '../../src/crypto/index.js'
import { MixError } from '../../src/hop/errors.js'
import { REPLAY_TAG_BYTES, ReplayTable, type ReplayVerdict } from '../../src/hop/replay-table.js'

await cryptoReady()

const hex = (tag: Uint8Array): string => Buffer.from(tag).toString('hex')

/** A tag from a counter: distinct, cheap, and far from random (the index is keyed anyway). */
function counterTag (i: number): Uint8Array {
  const tag = new Uint8Array(REPLAY_TAG_BYTES)
  new DataView(tag.buffer).setUint32(12, i)
  return tag
}

function levels (table: ReplayTable): Array<{ words: Uint32Array, occupied: Uint32Array }> {
  return (table as unknown as { levels: Array<{ words: Uint32Array, occupied: Uint32Array }> }).levels
}

t.test('a tag is fresh the first time and a replay every time after', async (t) => {
  const table = new ReplayTable({ capacity: 100 })
  const tag = randomBytes(REPLAY_TAG_BYTES)
  t.equal(table.checkAndInsert(tag), 'fresh')
  t.equal(table.checkAndInsert(tag), 'replay')
  t.equal(table.checkAndInsert(Uint8Array.from(tag)), 'replay', 'a copy is the same tag')
  const framed = new Uint8Array(40)
  framed.set(tag, 7)
  t.equal(table.checkAndInsert(framed.subarray(7, 7 + REPLAY_TAG_BYTES)), 'replay', 'a view at an odd offset is the same tag')
  const other = Uint8Array.from(tag)
  other[15]! ^= 1
  t.equal(table.checkAndInsert(other), 'fresh', 'one flipped bit is another tag')
  t.equal(table.size, 2)
})

t.test('the all-zero tag is stored and recognised like any other', async (t) => {
  const table = new ReplayTable({ capacity: 50 })
  for (let i = 1; i <= 40; i++) table.checkAndInsert(counterTag(i))
  const zero = new Uint8Array(REPLAY_TAG_BYTES)
  t.equal(table.checkAndInsert(zero), 'fresh', 'empty slots do not look like a stored zero tag')
  t.equal(table.checkAndInsert(zero), 'replay')
  t.equal(table.size, 41)
})

t.test('a full table refuses new tags, keeps refusing, and never evicts', async (t) => {
  const capacity = 1000
  const table = new ReplayTable({ capacity })
  const tags = Array.from({ length: capacity }, () => randomBytes(REPLAY_TAG_BYTES))
  t.ok(tags.every((tag) => table.checkAndInsert(tag) === 'fresh'), 'capacity tags all fresh')
  t.equal(table.size, capacity)
  const late = Array.from({ length: 200 }, () => randomBytes(REPLAY_TAG_BYTES))
  t.ok(late.every((tag) => table.checkAndInsert(tag) === 'full'), 'new tags are refused')
  t.ok(late.every((tag) => table.checkAndInsert(tag) === 'full'), 'and refused again: nothing was stored')
  t.ok(tags.every((tag) => table.checkAndInsert(tag) === 'replay'), 'every old tag is still a replay')
  t.equal(table.size, capacity)
  t.ok(table.slots > capacity && capacity / table.slots <= 0.75, `load ${(capacity / table.slots).toFixed(3)} <= 0.75`)
})

t.test('clear() forgets every tag and zeroes the storage', async (t) => {
  const table = new ReplayTable({ capacity: 64 })
  const tags = Array.from({ length: 64 }, () => randomBytes(REPLAY_TAG_BYTES))
  for (const tag of tags) table.checkAndInsert(tag)
  t.equal(table.checkAndInsert(randomBytes(REPLAY_TAG_BYTES)), 'full')
  const held = levels(table)
  table.clear()
  t.equal(table.size, 0)
  t.ok(held.every(({ words }) => words.every((w) => w === 0)), 'tag storage is zero')
  t.ok(held.every(({ occupied }) => occupied.every((w) => w === 0)), 'occupancy bitmap is zero')
  t.ok(tags.every((tag) => table.checkAndInsert(tag) === 'fresh'), 'old tags are fresh again')
})

t.test('the storage grows with the tags, by levels, and still holds exactly the bound', async (t) => {
  const capacity = 5000
  const table = new ReplayTable({ capacity })
  const empty = table.byteLength
  t.ok(empty < 32 * 1024, `${empty} bytes before any tag: far less than the bound's ${Math.ceil(capacity / 0.75) * REPLAY_TAG_BYTES}`)
  const tags = Array.from({ length: capacity }, (_, i) => counterTag(i))
  t.ok(tags.every((tag) => table.checkAndInsert(tag) === 'fresh'), 'capacity tags all fresh')
  t.ok(levels(table).length > 1, `${levels(table).length} levels at the bound`)
  t.ok(table.byteLength > empty, 'the storage grew')
  t.ok(tags.every((tag) => table.checkAndInsert(tag) === 'replay'), 'tags of every level are replays')
  t.equal(table.checkAndInsert(counterTag(capacity)), 'full', 'one over the bound is refused')
  t.equal(table.size, capacity)
  t.ok(capacity / table.slots <= 0.75, `load ${(capacity / table.slots).toFixed(3)} <= 0.75 over all levels`)
  table.clear()
  t.equal(levels(table).length, 1, 'clear() keeps the first level only')
  t.equal(table.byteLength, empty)
  t.equal(table.checkAndInsert(tags[4999]!), 'fresh', 'a tag of the last level is fresh again')
})

t.test('random workloads match a reference Set (duplicates, collisions, wrap-around, full)', async (t) => {
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 40 }),
    fc.double({ min: 0.3, max: 0.95, noNaN: true }),
    fc.array(fc.uint8Array({ minLength: REPLAY_TAG_BYTES, maxLength: REPLAY_TAG_BYTES }), { minLength: 1, maxLength: 60 }),
    // picks from a small pool so that replays are frequent; pick 0 is the all-zero tag
    fc.array(fc.nat(), { maxLength: 200 }),
    fc.integer({ min: -1, max: 200 }),
    (capacity, maxLoad, randomTags, picks, clearAt) => {
      const pool = [new Uint8Array(REPLAY_TAG_BYTES), ...randomTags]
      const table = new ReplayTable({ capacity, maxLoad })
      let reference = new Set<string>()
      picks.forEach((pick, step) => {
        if (step === clearAt) {
          table.clear()
          reference = new Set()
        }
        const tag = pool[pick % pool.length]!
        let expected: ReplayVerdict
        if (reference.has(hex(tag))) expected = 'replay'
        else if (reference.size >= capacity) expected = 'full'
        else {
          reference.add(hex(tag))
          expected = 'fresh'
        }
        const got = table.checkAndInsert(tag)
        if (got !== expected) throw new Error(`step ${step}: ${got}, expected ${expected}`)
        if (table.size !== reference.size) throw new Error(`size ${table.size} != ${reference.size}`)
      })
    },
  ), { numRuns: 300 })
  t.pass('300 random workloads agree with the reference')
})

t.test('random workloads across several levels match a reference Set', async (t) => {
  fc.assert(fc.property(
    fc.integer({ min: 1025, max: 4000 }),
    fc.double({ min: 0.3, max: 0.95, noNaN: true }),
    fc.integer({ min: 1, max: 4500 }),
    (capacity, maxLoad, distinct) => {
      const table = new ReplayTable({ capacity, maxLoad })
      const reference = new Set<number>()
      // each tag twice, the second time after the tags that follow it: lookups cross levels
      const steps = [...Array.from({ length: distinct }, (_, i) => i), ...Array.from({ length: distinct }, (_, i) => i)]
      for (const i of steps) {
        const expected: ReplayVerdict = reference.has(i) ? 'replay' : reference.size >= capacity ? 'full' : 'fresh'
        if (expected === 'fresh') reference.add(i)
        const got = table.checkAndInsert(counterTag(i))
        if (got !== expected) throw new Error(`tag ${i}: ${got}, expected ${expected}`)
      }
      if (table.size !== reference.size) throw new Error(`size ${table.size} != ${reference.size}`)
    },
  ), { numRuns: 20 })
  t.pass('20 random workloads over 1025 to 4000 tags agree with the reference')
})

t.test('bad tags and options throw MixError', async (t) => {
  const table = new ReplayTable({ capacity: 4 })
  t.throws(() => table.checkAndInsert(new Uint8Array(15)), { code: 'MIX_BAD_TAG' })
  t.throws(() => table.checkAndInsert(new Uint8Array(32)), { code: 'MIX_BAD_TAG' })
  for (const capacity of [0, -1, 1.5, 2 ** 27]) {
    t.throws(() => new ReplayTable({ capacity }), { code: 'MIX_BAD_OPTION' }, `capacity ${capacity}`)
  }
  for (const maxLoad of [0, 1, 1.5, NaN]) {
    t.throws(() => new ReplayTable({ capacity: 4, maxLoad }), MixError, `maxLoad ${maxLoad}`)
  }
  t.equal(new ReplayTable({ capacity: 1, maxLoad: 0.99 }).slots, 2, 'always at least one empty slot')
})
