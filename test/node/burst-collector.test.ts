/**
 * The collection after a burst of closes (src/node/burst-collector.ts): when the watch says
 * "now" (property tests over sampled counts), and that the collection it makes is V8's full
 * one, over a real isolate.
 */
import t from 'tap'
import fc from 'fast-check'
import { BurstWatch, MIN_STREAMS_FREED, QUIET_MS, collectGarbage, fullCollection, watchBursts } from '../../src/node/burst-collector.js'
import { memoryLogger, waitFor } from '../helpers/cascade.js'

/** Feed `counts` one a second; the indexes of the samples that said "collect". */
function run (watch: BurstWatch, counts: readonly number[], stepMs = 1000): number[] {
  const said: number[] = []
  counts.forEach((open, i) => { if (watch.sample(open, i * stepMs) > 0) said.push(i) })
  return said
}

t.test('defaults: 256 streams freed, then 5 s within 32 of one count', async (t) => {
  const watch = new BurstWatch()
  t.equal(watch.minFreed, MIN_STREAMS_FREED)
  t.equal(watch.quietMs, QUIET_MS)
  t.equal(watch.quietSlack, 32)
})

t.test('a burst that closes collects once, after the count has been quiet for quietMs', async (t) => {
  const counts = [0, 500, 1000, 1000, 600, 200, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
  // Quiet from the sample at 6 s (0 open): due at 11 s.
  t.same(run(new BurstWatch(), counts), [11])
})

t.test('no collection while the count only grows, or falls less than minFreed', async (t) => {
  t.same(run(new BurstWatch(), [0, 100, 300, 900, 900, 900, 900, 900, 900, 900, 900]), [])
  t.same(run(new BurstWatch(), [300, 300, 45, 45, 45, 45, 45, 45, 45, 45]), [], '255 freed')
  t.same(run(new BurstWatch(), [300, 300, 44, 44, 44, 44, 44, 44, 44, 44]), [7], '256 freed')
})

t.test('no collection while a burst goes on; jitter within the slack is quiet', async (t) => {
  const moving = [1000, 0, 100, 0, 100, 0, 100, 0, 100, 0, 100, 0]
  t.same(run(new BurstWatch(), moving), [], 'the count keeps moving by more than the slack')
  const jitter = [1000, 0, 20, 5, 30, 10, 0, 25]
  t.same(run(new BurstWatch(), jitter), [6], 'moves of 32 or less do not restart the quiet time')
})

t.test('property: a collection comes only after minFreed closed since the last, and quietMs of quiet, and says how many', async () => {
  fc.assert(fc.property(fc.array(fc.nat(2000), { maxLength: 60 }), fc.integer({ min: 1, max: 300 }), fc.integer({ min: 0, max: 4000 }), (counts, minFreed, quietMs) => {
    const watch = new BurstWatch({ minFreed, quietMs })
    let peak = 0
    let anchor = 0
    let quietSince = -1
    for (let i = 0; i < counts.length; i++) {
      const open = counts[i]!
      const now = i * 1000
      peak = Math.max(peak, open)
      if (quietSince < 0 || Math.abs(open - anchor) > watch.quietSlack) { anchor = open; quietSince = now }
      const due = peak - open >= minFreed && now - quietSince >= quietMs
      if (watch.sample(open, now) !== (due ? peak - open : 0)) return false
      if (due) peak = open
    }
    return true
  }))
})

t.test('watchBursts samples the count and acts once at the end of each burst', async (t) => {
  let open = 400
  const ends: number[] = []
  const { logger } = memoryLogger('exit', 'info')
  const collector = watchBursts({ count: () => open, logger, sampleMs: 5, quietMs: 20, onBurstEnd: (freed) => { ends.push(freed) } })
  t.teardown(() => collector.stop())
  await new Promise((resolve) => setTimeout(resolve, 30))
  t.same(ends, [], 'nothing closed yet')
  open = 0
  await waitFor(() => collector.bursts === 1, 'the end of the burst')
  t.same(ends, [400], 'told how many closed')
  open = 300
  await new Promise((resolve) => setTimeout(resolve, 30))
  open = 0
  await waitFor(() => collector.bursts === 2, 'the end of the second burst')
  t.same(ends, [400, 300])
  collector.stop()
})

t.test('collectGarbage collects and logs the pause and the heap before and after', async (t) => {
  const { logger, lines } = memoryLogger('exit', 'info')
  const garbage = ((): WeakRef<object> => new WeakRef({ payload: new Array(1000).fill(0) }))()
  await new Promise((resolve) => setImmediate(resolve))
  const pauseMs = collectGarbage(logger, { streamsFreed: 9 })
  t.type(pauseMs, 'number')
  t.equal(garbage.deref(), undefined, 'the garbage is gone')
  t.match(lines.join(''), /memory\.collected streamsFreed=9 pauseMs=[0-9.]+ heapUsedMiB=\[[0-9.]+,[0-9.]+\] heapTotalMiB=\[[0-9.]+,[0-9.]+\]/)
})

t.test('fullCollection is V8\'s: garbage nothing else would collect yet is gone after it', async (t) => {
  const collect = fullCollection()
  t.type(collect, 'function', 'this runtime exposes gc')
  const garbage = ((): WeakRef<object> => new WeakRef({ payload: new Array(1000).fill(0) }))()
  // A WeakRef's target lives to the end of the job that made it: collect in a later one.
  await new Promise((resolve) => setImmediate(resolve))
  collect!()
  t.equal(garbage.deref(), undefined)
})
