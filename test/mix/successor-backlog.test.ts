/**
 * A successor that stops reading cannot grow a mix's memory: once more than
 * `maxLinkBacklogBytes` wait to be written to it, the mix fails the link like a lost one
 * (its circuits end, it redials), instead of appending its padded rounds forever.
 */
import t from 'tap'
import { cryptoReady } from '../../src/crypto/index.js'
import { MixNode } from '../../src/mix/mix-node.js'
import { waitFor } from '../helpers/cascade.js'
import { startOneMix } from './one-mix-cascade.js'

await cryptoReady()

const BOUND = 256 * 1024

t.test('a mix fails a successor that reads nothing once its backlog passes the bound, then redials', async (t) => {
  // 64 PADDING cells of 1 KiB every 10 ms round: the schedule goes on whatever the exit reads.
  const c = await startOneMix({ exitReadsNothing: true, makeMix: (o) => new MixNode({ ...o, minBatch: 64, maxLinkBacklogBytes: BOUND }) })
  t.teardown(() => c.stop())
  const mix = c.mix.node
  const connects = mix.successorConnects
  await waitFor(() => mix.stats.linksClosedSlow >= 1, 'the successor link closed as too slow', 20_000)
  t.ok(mix.successorFailures >= 1, 'counted as a failure of the successor link')
  await waitFor(() => mix.successorConnects > connects, 'a redial', 10_000)
  t.pass('the mix dialled its successor again')
})
