/**
 * The short whole-node fuzz run of `npm test` (fuzz/node/whole-node.ts, 30 s, seed 1): random
 * and mutated cells and frames into a running one-mix cascade in a child process, beside a
 * good stream. Pass: no uncaught exception, the process alive, memory bounded, the stream intact.
 */
import t from 'tap'
import { cryptoReady } from '../../src/crypto/index.js'
import { runWholeNode } from '../../fuzz/node/whole-node.js'

await cryptoReady()

t.test('30 s of fuzzed cells and frames against a running cascade', async (t) => {
  const report = await runWholeNode({ seed: 1, durationMs: 30_000, crashDir: null })
  t.same(report.problems, [], report.summary)
  t.ok(report.cellsSent > 1000, `cells sent (${report.cellsSent})`)
  t.ok(report.circuitsBuilt > 10 && report.rawFrames > 10, 'circuits built and raw frames sent')
  t.ok(report.goodStreamBytes > 0, 'the good stream carried data')
})
