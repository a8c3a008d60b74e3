/**
 * At most maxCreatesPerRound CREATEs are opened per round at a hop (R17): a real mix (with a
 * hook that records each circuit it sets up and the round it did so), the real exit, and a
 * hand-made client that sends many CREATEs in one write, each followed by a LOOP (0-RTT).
 * The CREATEs past the budget are opened in later rounds, in arrival order, and the cells
 * behind them go on; past the carried bound a CREATE is refused (counted) and its cells are
 * unknown.
 */
import t from 'tap'
import { cryptoReady } from '../../src/crypto/index.js'
import type { HopCircuit } from '../../src/hop/hop-circuit.js'
import { MixNode } from '../../src/mix/mix-node.js'
import { SuccessorOutput } from '../../src/mix/successor-output.js'
import { cellCircuitId } from '../../src/protocol/cell.js'
import { CELL_HEADER_BYTES } from '../../src/protocol/geometry.js'
import { waitFor } from '../helpers/cascade.js'
import { RawClient, RelayCommand, type RawCircuit } from '../helpers/raw-circuit.js'
import { unsentCircuit } from './unsent-circuit.js'
import { startOneMix } from './one-mix-cascade.js'

await cryptoReady()

/** A mix's successor output that records each circuit it sets up (its ID from the client) and the round. */
class RecordingOutput extends SuccessorOutput {
  readonly records: Array<{ id: number, round: number }> = []
  override created (circuit: HopCircuit, next: Uint8Array | null): boolean {
    this.records.push({ id: circuit.inId, round: this.core.stats.rounds })
    return super.created(circuit, next)
  }
}

/** n circuits, sent in one write: each CREATE followed by a LOOP on its circuit. */
function flood (client: RawClient, n: number): RawCircuit[] {
  const circuits: RawCircuit[] = []
  while (circuits.length < n) {
    const circuit = unsentCircuit(client)
    if (!circuits.some((c) => c.id === circuit.id)) circuits.push(circuit)
  }
  client.send(...circuits.flatMap((c) => [c.create, client.relayCell(c, 0, RelayCommand.LOOP, Uint8Array.of(1))]))
  return circuits
}

/** Whether a LOOP echo came back on `circuit`. */
function echoed (client: RawClient, circuit: RawCircuit): boolean {
  return client.received.some((cell) => {
    if (cellCircuitId(cell) !== circuit.id) return false
    return circuit.opener.open(cell.subarray(CELL_HEADER_BYTES))?.kind === 'data'
  })
}

async function startRecording (maxCreatesPerRound: number, maxCarriedCreates?: number): Promise<{ c: Awaited<ReturnType<typeof startOneMix>>, node: MixNode, created: RecordingOutput['records'] }> {
  let node: MixNode | undefined
  let output: RecordingOutput | undefined
  const c = await startOneMix({
    makeMix: (o) => (node = new MixNode({
      ...o,
      maxCreatesPerRound,
      ...(maxCarriedCreates === undefined ? {} : { maxCarriedCreates }),
      testOutput: (core, options) => (output = new RecordingOutput(core, options)),
    })),
  })
  return { c, node: node!, created: output!.records }
}

t.test('CREATEs beyond the round budget are opened in later rounds, in order, none lost', async (t) => {
  const { c, node, created } = await startRecording(2)
  t.teardown(() => c.stop())
  const client = await RawClient.connect(c.cascade)
  t.teardown(() => client.close())
  await waitFor(() => node.predecessorLinks === 1, 'the client at the mix')
  const circuits = flood(client, 7)
  await waitFor(() => c.exit.node.exitStats.loopsEchoed === 7, 'seven LOOPs at the exit')
  await waitFor(() => client.received.length >= 7, 'seven echoes back at the client')
  t.same(created.map((x) => x.id), circuits.map((x) => x.id), 'every circuit set up, in arrival order')
  const perRound = new Map<number, number>()
  for (const { round } of created) perRound.set(round, (perRound.get(round) ?? 0) + 1)
  t.ok([...perRound.values()].every((n) => n <= 2), `at most two per round (${[...perRound.values()].join(', ')})`)
  t.ok(perRound.size >= 4, 'so they took at least four rounds')
  t.ok(node.stats.createsCarried >= 1, 'some were carried to a later round')
  t.equal(node.stats.createsRefusedBusy, 0, 'none refused below the bound')
  t.ok(circuits.every((x) => echoed(client, x)), 'the LOOP behind each CREATE went on with it, and came back')
  t.equal(node.stats.unknownCircuitCells, 0, 'no cell was taken for one on an unknown circuit')
})

t.test('past the carried bound a CREATE is refused and counted; the rest keep their order', async (t) => {
  const { c, node, created } = await startRecording(1, 2)
  t.teardown(() => c.stop())
  const client = await RawClient.connect(c.cascade)
  t.teardown(() => client.close())
  await waitFor(() => node.predecessorLinks === 1, 'the client at the mix')
  const circuits = flood(client, 8)
  await waitFor(() => created.length + node.stats.createsRefusedBusy === 8, 'every CREATE set up or refused')
  await waitFor(() => c.exit.node.exitStats.loopsEchoed === created.length, 'the set-up circuits\' LOOPs at the exit')
  const sentAt = new Map(circuits.map((x, i) => [x.id, i]))
  const order = created.map((x) => sentAt.get(x.id)!)
  t.ok(node.stats.createsRefusedBusy > 0, `some were refused (${node.stats.createsRefusedBusy})`)
  t.same(order, [...order].sort((x, y) => x - y), 'those set up were set up in arrival order')
  t.ok(created.length >= 3, 'the one opened at once and the two carried were set up')
  t.equal(node.stats.unknownCircuitCells, node.stats.createsRefusedBusy, 'the LOOP behind each refused CREATE was dropped as unknown')
  t.equal(c.exit.node.circuits, created.length, 'the exit has exactly the circuits set up')
})
