/**
 * Issue #17, memory after a burst: once many streams of one key have been held and closed,
 * nothing of them stays at the client or the exit. A shaped cascade (elastic, one mix) on
 * loopback holds 300 streams through the SOCKS port, they close, and then the live objects
 * are counted (the inspector's queryObjects, which collects garbage first): no StreamPipe and
 * no more sockets than before, at either endpoint; and the bookkeeping that holds streams
 * (each circuit's streams at the client, streams per circuit at the exit, the doors' open
 * connections) is empty. Counts, not RSS: what the allocator keeps after free
 * depends on the machine (docs/BENCH.md "Memory of `mixgate up`").
 */
import t from 'tap'
import { Socket } from 'node:net'
import { Session } from 'node:inspector/promises'
import { openHeldStreams, startEchoHolder } from '../../bench/held-streams.js'
import { cryptoReady } from '../../src/crypto/index.js'
import { StreamPipe } from '../../src/endpoint/stream-pipe.js'
import { DEFAULT_SHAPING } from '../../src/protocol/shaping.js'
import { startCascade, waitFor } from '../helpers/cascade.js'

await cryptoReady()

const STREAMS = 300

/** Live objects whose prototype chain holds `prototype`, after a full garbage collection. */
async function liveInstances (session: Session, prototype: object): Promise<number> {
  const group = 'live-instances'
  ;(globalThis as { liveInstancesProbe?: object }).liveInstancesProbe = prototype
  try {
    const { result } = await session.post('Runtime.evaluate', { expression: 'globalThis.liveInstancesProbe', objectGroup: group })
    // objectGroup (so the answer can be released, else it keeps the objects alive) is V8's, missing from Node's typings.
    const query = { prototypeObjectId: result.objectId!, objectGroup: group }
    const { objects } = await session.post('Runtime.queryObjects', query)
    const counted = await session.post('Runtime.callFunctionOn', { objectId: objects.objectId!, functionDeclaration: 'function () { return this.length }', returnByValue: true })
    return counted.result.value as number
  } finally {
    await session.post('Runtime.releaseObjectGroup', { objectGroup: group })
    delete (globalThis as { liveInstancesProbe?: object }).liveInstancesProbe
  }
}

t.test(`${STREAMS} streams of one key held through a shaped cascade and closed: none of their state is left`, async (t) => {
  const session = new Session()
  session.connect()
  t.teardown(() => session.disconnect())
  const holder = await startEchoHolder()
  t.teardown(() => holder.close())
  const cascade = await startCascade({ mixes: 1, exitPolicy: ['accept 127.0.0.1:*'], shaping: DEFAULT_SHAPING.elastic })
  t.teardown(() => cascade.stop())
  const client = cascade.client.node
  const socketsBefore = await liveInstances(session, Socket.prototype)
  t.equal(await liveInstances(session, StreamPipe.prototype), 0, 'no stream before')

  const held = await openHeldStreams({ socksPort: cascade.socksPort, targetPort: holder.port, count: STREAMS, inFlight: 50, timeoutMs: 45_000 })
  t.teardown(() => held.close())
  t.equal(held.result.held, STREAMS, `${STREAMS} held at once`)
  t.equal(await liveInstances(session, StreamPipe.prototype), 2 * STREAMS, 'one StreamPipe per stream at the client and one at the exit')

  held.close()
  await waitFor(() => cascade.exit.node.openStreamsPerCircuit().length === 0, 'the exit to close every stream', 60_000)
  await waitFor(() => client.socksCounters.open === 0, 'the client\'s doors to close every connection', 60_000)
  t.same(client.shaperState!.circuits().map((s) => s.circuit.streams.size).filter((n) => n > 0), [], 'no circuit holds a stream at the client')
  t.equal(await liveInstances(session, StreamPipe.prototype), 0, 'no StreamPipe left at either endpoint')
  t.equal(await liveInstances(session, Socket.prototype), socketsBefore, 'no more sockets than before (the links\' only)')
})
