/**
 * The kMin CREATE hold and the per-slot CREATE histogram (src/mix/create-hold.ts), and a
 * shaped circuit's queues (cell-queue.ts, circuit-shape.ts): the pure parts of PROTOCOL.md §12.
 */
import t from 'tap'
import { CellQueue } from '../../src/hop/cell-queue.js'
import { CircuitShape } from '../../src/hop/circuit-shape.js'
import { CreateHold, createSlotBucket, CREATE_SLOT_BUCKETS, SlotCreateCounter } from '../../src/hop/create-hold.js'
import { cellsInRound, DEFAULT_SHAPING } from '../../src/protocol/shaping.js'

t.test('kMin: held until kMin wait, or until holdRounds after the first', async (t) => {
  const hold = new CreateHold<string>(3, 5)
  const out: string[] = []
  hold.add('a', 10)
  hold.add('b', 11)
  t.equal(hold.due(12, () => true, out), 'none', 'two of three: held')
  hold.add('c', 12)
  t.equal(hold.due(13, () => true, out), 'kmin', 'three: released')
  t.same(out, ['a', 'b', 'c'], 'all of them, in order')
  out.length = 0
  hold.add('d', 20)
  t.equal(hold.due(24, () => true, out), 'none', 'four rounds after the first: still held')
  t.equal(hold.due(25, () => true, out), 'timeout', 'five rounds after: released')
  t.same(out, ['d'])
  out.length = 0
  hold.add('e', 30); hold.add('f', 30); hold.add('g', 30)
  t.equal(hold.due(31, (x) => x !== 'f', out), 'none', 'an ended circuit does not count toward kMin')
  t.equal(hold.size, 2)
})

t.test('per-slot CREATE counts: coarse buckets, partial first slot not filed', async (t) => {
  t.same([0, 1, 2, 3, 4, 7, 8, 63, 64, 1000].map(createSlotBucket), [0, 1, 2, 2, 3, 3, 4, 6, 7, 7])
  const histogram = CREATE_SLOT_BUCKETS.map(() => 0)
  const counter = new SlotCreateCounter(10, histogram)
  counter.tick(5) // starts mid-slot 0
  counter.created()
  counter.tick(10) // slot 0 ends: partial, not filed
  t.same(histogram, [0, 0, 0, 0, 0, 0, 0, 0])
  for (let i = 0; i < 5; i++) counter.created()
  counter.tick(15)
  counter.tick(20) // slot 1 ends with 5
  t.same(histogram, [0, 0, 0, 1, 0, 0, 0, 0], 'slot 1 filed in 4–7')
  t.equal(counter.lastSlot, 4, 'the last slot, as its bucket\'s lower bound')
  counter.tick(50) // slot 2 ended with none; 3 and 4 skipped
  t.same(histogram, [3, 0, 0, 1, 0, 0, 0, 0], 'empty and skipped slots filed as 0')
})

t.test('a cell queue keeps order across growth and wrap-around', async (t) => {
  const queue = new CellQueue()
  const cells = Array.from({ length: 40 }, (_, i) => Uint8Array.of(i))
  let taken = 0
  for (let i = 0; i < 40; i++) {
    queue.push(cells[i]!)
    if (i % 3 === 0) t.equal(queue.shift(), cells[taken++])
  }
  while (queue.length > 0) t.equal(queue.shift(), cells[taken++])
  t.equal(taken, 40, 'every cell once, in order')
  t.equal(queue.shift(), undefined)
})

t.test('a cell queue grown by a burst falls back to its first size once the burst drained', async (t) => {
  const queue = new CellQueue()
  const cell = Uint8Array.of(1)
  for (let i = 0; i < 500; i++) queue.push(cell)
  const steady = queue.capacity
  while (queue.length > 0) queue.shift()
  t.equal(queue.capacity, steady, 'a backlog of 500 keeps its array: no allocation per round for a steady download')
  for (let i = 0; i < 5000; i++) queue.push(cell)
  t.ok(queue.capacity >= 5000)
  while (queue.length > 1) queue.shift()
  t.ok(queue.capacity >= 5000, 'kept while cells wait')
  t.equal(queue.shift(), cell)
  t.ok(queue.capacity < 16, 'gone once empty')
  queue.push(cell)
  t.equal(queue.shift(), cell, 'and it still works')
})

t.test('a circuit\'s schedule and its LOOP echoes', async (t) => {
  const strict = new CircuitShape({ ...DEFAULT_SHAPING.strict, ratesMilli: [2500] }, 1000, 0)
  t.same([0, 1, 2, 3].map((n) => strict.cellsAt(n, 'forward')), [2, 3, 2, 3], 'strict: cellsInRound of the one rate')
  t.same([0, 1, 2, 3].map((n) => strict.cellsAt(n, 'backward')), [2, 3, 2, 3], 'the same backward')
  const elastic = new CircuitShape(DEFAULT_SHAPING.elastic, 10, 0)
  const ladder = DEFAULT_SHAPING.elastic.ratesMilli
  t.equal(elastic.rateAt(5, 'forward'), ladder[0], 'elastic: rung 0 at first')
  elastic.rungs!.forward.request(3, 9)
  elastic.rungs!.backward.request(5, 9)
  t.equal(elastic.rateAt(10, 'forward'), ladder[3], 'the requested rung from the next slot, forward')
  t.equal(elastic.rateAt(10, 'backward'), ladder[5], 'and backward, each its own')
  t.equal(elastic.cellsAt(10, 'backward'), cellsInRound(ladder[5]!, 10))
  const a = Uint8Array.of(1)
  const b = Uint8Array.of(2)
  strict.addLoop(a, 11, 14)
  strict.addLoop(b, 12, 12)
  t.equal(strict.takeLoop(11), undefined, 'none due yet')
  t.equal(strict.takeLoop(12), b, 'the one due first')
  t.equal(strict.lastLoopFirstRound, 12)
  t.equal(strict.takeLoop(13), undefined)
  t.equal(strict.takeLoop(14), a)
  t.equal(strict.loopsWaiting, 0)
})
