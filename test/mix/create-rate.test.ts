/**
 * Replay-table exhaustion (DESIGN-REVIEW R6, issue #10 item 4) on a real cascade with a small
 * replay table (256 tags per key): one client that sends CREATE after CREATE (each followed by
 * a DESTROY, so that no circuit limit stops it) is held to its link's CREATE budget, and the
 * hop's own CREATE rate is derived from the table's size, so the table never fills and another
 * client's CREATE is still accepted. Before, the flood filled the table and every later
 * CREATE of the epoch was refused.
 */
import t from 'tap'
import { cryptoReady } from '../../src/crypto/index.js'
import { CellCommand, DestroyReason, encodeCell, encodeDestroy, randomCircuitId } from '../../src/protocol/cell.js'
import { createOnion } from '../../src/protocol/onion.js'
import { cascadeEpochAt, onionKeysFor } from '../../src/directory/cascade.js'
import { DEFAULT_LINK_CREATE_BURST } from '../../src/hop/hop-options.js'
import { startCascade, waitFor } from '../helpers/cascade.js'
import { RawClient, RelayCommand } from '../helpers/raw-circuit.js'

await cryptoReady()

t.test('one client cannot fill the replay table; another is still served', async (t) => {
  const c = await startCascade({ replayCapacity: 256 })
  t.teardown(() => c.stop())
  const entry = c.mixes[0]!.node
  const cascade = c.cascade
  const epoch = cascadeEpochAt(cascade)
  const attacker = await RawClient.connect(cascade)
  t.teardown(() => attacker.close())
  const FLOOD = 400
  const cells: Uint8Array[] = []
  for (let i = 0; i < FLOOD; i++) {
    const onion = createOnion(onionKeysFor(cascade, epoch)!, { geometry: cascade.geometry, cascadeId: cascade.id, epoch })
    const id = randomCircuitId(() => false)
    cells.push(encodeCell(cascade.geometry, id, CellCommand.CREATE, onion.header), encodeDestroy(cascade.geometry, id, DestroyReason.FINISHED))
  }
  attacker.send(...cells)
  await waitFor(() => entry.stats.createsAccepted + entry.stats.createsRefusedRate + entry.stats.createsRefusedBusy >= FLOOD, 'every CREATE of the flood accepted or refused')
  t.ok(entry.stats.createsAccepted <= DEFAULT_LINK_CREATE_BURST + 2, `the link's budget held (${entry.stats.createsAccepted} accepted)`)
  t.ok(entry.stats.createsRefusedRate >= FLOOD - DEFAULT_LINK_CREATE_BURST - 2, `the rest refused by rate (${entry.stats.createsRefusedRate})`)
  t.equal(entry.stats.createsRefusedFull, 0, 'the table never filled')
  t.ok(entry.replayTags(epoch) < 256, `tags stored: ${entry.replayTags(epoch)} of 256`)

  const honest = await RawClient.connect(cascade)
  t.teardown(() => honest.close())
  const accepted = c.exit.node.stats.createsAccepted
  const circuit = honest.createCircuit()
  await waitFor(() => c.exit.node.stats.createsAccepted === accepted + 1, 'the other client\'s circuit at the exit')
  const before = honest.received.length
  honest.send(honest.relayCell(circuit, 0, RelayCommand.LOOP, Uint8Array.of(1, 2, 3)))
  await waitFor(() => honest.received.length > before, 'its LOOP echo')
  t.pass('another client is served after the flood')
})
