/**
 * The CREATE budget of a round (src/mix/create-queue.ts, R17): at most perRound CREATEs per
 * round, the rest carried in arrival order, refused past the bound.
 */
import t from 'tap'
import { CreateQueue } from '../../src/mix/create-queue.js'

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
