/**
 * The entry closes client links that hold no circuit for `linkIdleMs` (issue #10 item 7): an
 * open link costs the entry a socket and state whether or not it carries anything. A link
 * with a circuit stays.
 */
import t from 'tap'
import { cryptoReady } from '../../src/crypto/index.js'
import { MixNode } from '../../src/mix/mix-node.js'
import { startCascade, waitFor } from '../helpers/cascade.js'
import { RawClient } from '../helpers/raw-circuit.js'

await cryptoReady()

t.test('an entry link without circuits is closed after linkIdleMs; one with a circuit is not', async (t) => {
  const c = await startCascade({
    mixFactory: (position) => position === 1 ? (options) => new MixNode({ ...options, linkIdleMs: 1500 }) : undefined,
  })
  t.teardown(() => c.stop())
  const entry = c.mixes[0]!.node
  const idle = await RawClient.connect(c.cascade)
  t.teardown(() => idle.close())
  const busy = await RawClient.connect(c.cascade)
  t.teardown(() => busy.close())
  busy.createCircuit()
  await waitFor(() => entry.circuits >= 1, 'both links and the circuit at the entry')
  await waitFor(() => idle.link.closed, 'the idle link closed by the entry', 10_000)
  // The cascade's own client holds no circuit until an app asks for one: its link goes too.
  t.ok(entry.stats.linksClosedIdle >= 1, 'counted as closed for idleness')
  t.notOk(busy.link.closed, 'the link with a circuit is still open')
})
