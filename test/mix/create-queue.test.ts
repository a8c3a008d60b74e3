/**
 * The CREATE budget of a round (src/mix/create-queue.ts, R17): at most perRound CREATEs per
 * round, the rest carried in arrival order, refused past the bound.
 */
import t from 'tap'
import { CreateQueue } from '../../src/hop/create-queue.js'

const always = (): boolean => true

t.test('the budget covers perRound CREATEs; later ones are carried, then refused past the bound', async (t) => {
  const queue = new CreateQueue<string>(2, 3)
  t.same(['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((x) => queue.admit(x)),
    ['now', 'now', 'carried', 'carried', 'carried', 'refused', 'refused'])
  t.equal(queue.size, 3, 'three wait')
  const out: string[] = []
  queue.nextRound(always, out)
  t.same(out, ['c', 'd'], 'the next round takes the two oldest')
  t.equal(queue.admit('h'), 'carried', 'the budget is spent: a new one waits behind e')
  out.length = 0
  queue.nextRound(always, out)
  t.same(out, ['e', 'h'], 'in arrival order')
  t.equal(queue.admit('i'), 'carried', 'still no budget left this round')
  out.length = 0
  queue.nextRound(always, out)
  t.same(out, ['i'])
  t.equal(queue.admit('j'), 'now', 'budget left and nothing waiting: at once')
  t.equal(queue.admit('k'), 'carried')
})

t.test('dropped items do not use the budget', async (t) => {
  const queue = new CreateQueue<string>(1, 10)
  queue.admit('a')
  for (const x of ['b', 'c', 'd']) queue.admit(x)
  const out: string[] = []
  queue.nextRound((x) => x !== 'b' && x !== 'c', out)
  t.same(out, ['d'], 'b and c (their link closed) are skipped, d takes the budget')
  t.equal(queue.size, 0)
})

t.test('a long queue stays correct as it is compacted', async (t) => {
  const queue = new CreateQueue<number>(7, 5000)
  for (let i = 0; i < 4000; i++) queue.admit(i)
  const out: number[] = []
  while (queue.size > 0) queue.nextRound(always, out)
  t.same(out, Array.from({ length: 3993 }, (_, i) => i + 7), 'every carried item once, in order')
})

t.test('bad parameters throw', async (t) => {
  t.throws(() => new CreateQueue(0, 1), RangeError)
  t.throws(() => new CreateQueue(1, -1), RangeError)
})

t.test('carried CREATEs are served round-robin across their links, and no link may hold more than its share', async (t) => {
  // Items are "link:n"; the link is the part before the colon.
  const queue = new CreateQueue<string>(1, 100, { sourceOf: (x) => x.split(':')[0], perSourceBound: 3 })
  t.equal(queue.admit('a:0'), 'now', 'the first at once')
  t.same(['a:1', 'a:2', 'a:3', 'a:4'].map((x) => queue.admit(x)), ['carried', 'carried', 'carried', 'refused'], 'link a holds three at most')
  t.same(['b:1', 'c:1', 'b:2'].map((x) => queue.admit(x)), ['carried', 'carried', 'carried'], 'other links still get in')
  const out: string[] = []
  while (queue.size > 0) queue.nextRound(always, out)
  t.same(out, ['a:1', 'b:1', 'c:1', 'a:2', 'b:2', 'a:3'], 'one link at a time, in order within each')
})

t.test('a closed link\'s carried CREATEs are forgotten at once', async (t) => {
  const queue = new CreateQueue<string>(1, 100, { sourceOf: (x) => x.split(':')[0] })
  queue.admit('a:0')
  for (const x of ['a:1', 'b:1', 'a:2', 'b:2']) queue.admit(x)
  queue.forget('a')
  t.equal(queue.size, 2, 'only b\'s wait')
  const out: string[] = []
  while (queue.size > 0) queue.nextRound(always, out)
  t.same(out, ['b:1', 'b:2'])
})
