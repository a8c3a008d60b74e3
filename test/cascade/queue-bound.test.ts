/**
 * A shaped hop's per-circuit queue bound (docs/PROTOCOL.md §12.2, src/hop/hop-options.ts
 * SHAPED_QUEUE_FACTOR, QUEUE_BOUND_ROUNDS), on a real loopback cascade driven by a raw client
 * that sends far beyond its schedule: a backlog of a few thousand cells, which the old fixed
 * bound of 2048 silenced and an honest overloaded cascade builds, is carried; a flood past
 * the bound (4 × 2048 cells at this rate) silences that circuit alone, and memory stays
 * bounded whatever the client sends.
 */
import t from 'tap'
import { cryptoReady, randomBytes } from '../../src/crypto/index.js'
import { DEFAULT_SHAPING, type ShapingParams } from '../../src/protocol/shaping.js'
import { DEFAULT_MAX_QUEUED_CELLS, SHAPED_QUEUE_FACTOR } from '../../src/hop/hop-options.js'
import type { RunningMix } from '../../src/mix/run-mix.js'
import { waitFor } from '../helpers/cascade.js'
import { RawClient, RelayCommand, type RawCircuit } from '../helpers/raw-circuit.js'
import { sleep, startShaped, stopShaped } from '../helpers/shaped-cascade.js'

await cryptoReady()

const BOUND = SHAPED_QUEUE_FACTOR * DEFAULT_MAX_QUEUED_CELLS

/** Send `count` DROP cells on `circuit` as fast as the link takes them, in writes of 500. */
function flood (client: RawClient, circuit: RawCircuit, count: number): void {
  for (let sent = 0; sent < count; sent += 500) {
    client.send(...Array.from({ length: Math.min(500, count - sent) }, () => client.relayCell(circuit, 0, RelayCommand.DROP, randomBytes(8))))
  }
}

t.test('a backlog above the old 2048 cells is carried; a flood past the shaped bound silences that circuit alone', async (t) => {
  const ROUND_MS = 20
  // Strict, one cell a round: the entry passes each circuit on at that rate, so what the client
  // sends beyond it waits in the entry's forward queue. Circuits outlive the test.
  const shaping: ShapingParams = { ...DEFAULT_SHAPING.strict, ratesMilli: [1000], slotMs: 400, circuits: 4, circuitSlots: 400 }
  const c = await startShaped(shaping, { mixes: 1, roundMs: ROUND_MS })
  t.teardown(() => stopShaped(c))
  const [entry] = c.mixes as [RunningMix]
  const client = await RawClient.connect(c.cascade)
  t.teardown(() => client.close())
  await waitFor(() => entry.node.predecessorLinks === 1, 'the client at the entry')
  const patient = client.createCircuit()
  const flooded = client.createCircuit()
  await waitFor(() => c.exit.node.circuits === 2, 'both circuits at the exit')

  const BACKLOG = 3 * DEFAULT_MAX_QUEUED_CELLS / 2
  flood(client, patient, BACKLOG)
  await waitFor(() => entry.node.stats.cellsIn >= BACKLOG + 2, 'the backlog read at the entry (and the two CREATEs)', 30_000)
  await sleep(5 * ROUND_MS)
  t.equal(entry.node.stats.circuitsOverQueue, 0, `${BACKLOG} cells queued on one circuit: within the bound`)
  t.equal(entry.node.stats.circuitsSilenced, 0, 'nothing silenced')

  const FLOOD = BOUND + 4000
  flood(client, flooded, FLOOD)
  await waitFor(() => entry.node.stats.circuitsOverQueue >= 1, 'the flooded circuit over its bound', 30_000)
  t.equal(entry.node.stats.circuitsOverQueue, 1, 'one circuit went over the bound: the flooded one')
  t.equal(entry.node.stats.circuitsSilenced, 1, 'and was silenced')
  t.ok(entry.node.stats.cellsDroppedOverQueue >= 1, 'its cell past the bound was dropped')
  t.equal(entry.node.circuits, 2, 'both circuits are kept until their scheduled end (R5)')
})
