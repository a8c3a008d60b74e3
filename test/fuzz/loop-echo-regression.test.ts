/**
 * Regression (found by the whole-node fuzzer): a forward LOOP carrying more data than a
 * backward payload holds crashed the exit — its echo, encodeRelay at the backward size, threw
 * PROTO_RELAY_BAD_LENGTH out of the cell handler, and the process died.
 *
 * Through a real one-mix cascade in a child process: on a circuit of our own, a LOOP of the
 * largest forward size, and one whose length field says one byte more (refused as malformed).
 * The exit must stay up, and a good stream through the same cascade must complete intact.
 */
import t from 'tap'
import { cryptoReady } from '../../src/crypto/index.js'
import { cascadeEpochAt, linkPrologue, onionKeysFor } from '../../src/directory/cascade.js'
import { CellCommand, encodeCell } from '../../src/protocol/cell.js'
import { createOnion } from '../../src/protocol/onion.js'
import { ForwardSealer } from '../../src/protocol/relay-layers.js'
import { encodeRelay, RelayCommand } from '../../src/protocol/relay-payload.js'
import { FuzzLink } from '../../fuzz/node/fuzz-link.js'
import { GoodStream } from '../../fuzz/node/good-stream.js'
import { startNodeChild } from '../../fuzz/node/node-child.js'
import { Prng } from '../../fuzz/prng.js'

await cryptoReady()

t.test('a forward LOOP of the largest forward size, and one byte over: the exit stays up, a good stream completes', async (t) => {
  const node = await startNodeChild(1024)
  t.teardown(() => node.stop())
  const { cascade } = node
  const g = cascade.geometry
  t.ok(g.forwardDataBytes > g.backwardDataBytes, 'the largest forward LOOP is larger than any backward payload holds')
  const rng = new Prng(10)
  const good = await GoodStream.open(node.socksPort, node.echoPort)
  good.pump(rng, 2000)

  const entry = cascade.hops[0]!
  const link = await FuzzLink.open(entry.address.host, entry.address.port, entry.linkKey, linkPrologue(cascade, 1))
  t.teardown(() => link.close())
  const epoch = cascadeEpochAt(cascade)
  const onion = createOnion(onionKeysFor(cascade, epoch)!, { geometry: g, cascadeId: cascade.id, epoch })
  const id = 0x1234567
  const sealer = new ForwardSealer(g, onion.hopKeys)
  const largest = encodeRelay(g.forwardPayloadBytes, 0, RelayCommand.LOOP, rng.bytes(g.forwardDataBytes))
  const oneOver = Uint8Array.from(largest)
  oneOver[3] = (g.forwardDataBytes + 1) >>> 8
  oneOver[4] = (g.forwardDataBytes + 1) & 0xff
  link.sendCells([
    encodeCell(g, id, CellCommand.CREATE, onion.header),
    encodeCell(g, id, CellCommand.RELAY, sealer.seal(largest)),
    encodeCell(g, id, CellCommand.RELAY, sealer.seal(oneOver)),
  ])

  // Keep the good stream busy while the exit handles both.
  for (let i = 0; i < 40 && node.alive(); i++) {
    good.pump(rng, 4000)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  await node.sample()
  await node.settle()
  const uncaught = node.uncaught()
  t.equal(uncaught, undefined, `the exit process did not crash${uncaught === undefined ? '' : `: ${uncaught.name} ${uncaught.message}`}`)
  t.equal(node.exited(), undefined, 'the node process is still running')
  t.ok(await good.finish(20_000), `the good stream completed intact (${good.bytesEchoed} of ${good.bytesSent} bytes)`)
  t.ok((node.stats?.mix.cellsIn ?? 0) >= 3, 'the mix received the cells')
})
