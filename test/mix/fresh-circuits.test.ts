/**
 * A round's release never waits for a tag log append (R17); only the circuits whose tags are
 * not yet durable wait (R2). One real mix with gated tag log appends (gated-keys.ts), the real
 * exit, and a hand-made client:
 *   - unshaped: the round that carried a CREATE leaves on its deadline with the other
 *     circuits' cells; the new circuit's CREATE and cells leave only in rounds after its
 *     append resolved, in order;
 *   - a failed append ends only the circuits it was for, and nothing of theirs ever left;
 *   - shaped (strict): while the tag is pending the circuit adds nothing toward the exit and
 *     fills its backward slots with PADs, so the client's link carries its schedule exactly.
 */
import t from 'tap'
import { cryptoReady } from '../../src/crypto/index.js'
import { CellCommand, cellCircuitId } from '../../src/protocol/cell.js'
import { CELL_HEADER_BYTES } from '../../src/protocol/geometry.js'
import { decodeRelay } from '../../src/protocol/relay-payload.js'
import { cellsInRound, DEFAULT_SHAPING, type ShapingParams } from '../../src/protocol/shaping.js'
import { waitFor } from '../helpers/cascade.js'
import { RawClient, RelayCommand, type RawCircuit } from '../helpers/raw-circuit.js'
import { unsentCircuit } from './unsent-circuit.js'
import { startOneMix, type OneMixCascade, type Write } from './one-mix-cascade.js'

await cryptoReady()

const loop = (client: RawClient, circuit: RawCircuit, n: number): Uint8Array =>
  client.relayCell(circuit, 0, RelayCommand.LOOP, Uint8Array.of(n))

/** What came back on `circuit` so far: LOOP echoes (their first byte) and PADs, each cell opened once. */
const seen = new Map<RawCircuit, { next: number, loops: number[], pads: number }>()
function backOn (client: RawClient, circuit: RawCircuit): { loops: number[], pads: number } {
  let state = seen.get(circuit)
  if (state === undefined) { state = { next: 0, loops: [], pads: 0 }; seen.set(circuit, state) }
  for (; state.next < client.received.length; state.next++) {
    const cell = client.received[state.next]!
    if (cellCircuitId(cell) !== circuit.id) continue
    const result = circuit.opener.open(cell.subarray(CELL_HEADER_BYTES))
    if (result === null) throw new Error('a backward cell did not open')
    if (result.kind === 'pad') { state.pads++; continue }
    const message = decodeRelay(result.payload)
    if (message.command === RelayCommand.LOOP) state.loops.push(message.data[0]!)
  }
  return state
}

/** Every cell the mix wrote on `writes`, flattened, with its write's round. */
const cellsOf = (writes: readonly Write[]): Array<{ round: number, command: number, id: number }> =>
  writes.flatMap((w) => w.cells.map((cell) => ({ round: w.round, ...cell })))

/** The circuit IDs of the CREATEs the mix sent to the exit, in order. */
const createsSent = (c: OneMixCascade): number[] =>
  cellsOf(c.forward).filter((cell) => cell.command === CellCommand.CREATE).map((cell) => cell.id)

/** Connect a client and build circuit A through the mix, its tag made durable at once. */
async function established (c: OneMixCascade): Promise<{ client: RawClient, a: RawCircuit, aOut: number }> {
  const client = await RawClient.connect(c.cascade)
  await waitFor(() => c.mix.node.predecessorLinks === 1, 'the client at the mix')
  const a = unsentCircuit(client)
  client.send(a.create)
  await waitFor(() => c.gate!.appends.length === 1, "A's tag log append")
  c.gate!.appends[0]!.resolve()
  await waitFor(() => c.exit.node.circuits === 1, 'A at the exit')
  return { client, a, aOut: createsSent(c)[0]! }
}

t.test('unshaped: the round with a CREATE leaves on time; the new circuit leaves after its append, in order', async (t) => {
  const c = await startOneMix({ gated: true })
  t.teardown(() => c.stop())
  const { client, a, aOut } = await established(c)
  t.teardown(() => client.close())
  const gate = c.gate!

  // One write: B's CREATE with three LOOPs behind it, and a LOOP on A.
  const b = unsentCircuit(client)
  client.send(b.create, loop(client, b, 1), loop(client, b, 2), loop(client, b, 3), loop(client, a, 9))
  await waitFor(() => gate.appends.length === 2, "B's tag log append")
  const append = gate.appends[1]!
  t.equal(append.tags, 1, 'one tag: B\'s')
  // While B's tag is pending, A's LOOP goes to the exit and comes back, and rounds go on.
  await waitFor(() => backOn(client, a).loops.length === 1, "A's LOOP echo")
  await waitFor(() => c.round() >= append.stampedAt + 3, 'three more rounds')
  const aCells = cellsOf(c.forward).filter((cell) => cell.id === aOut && cell.command === CellCommand.RELAY)
  t.same(aCells.map((cell) => cell.round), [append.stampedAt], "A's cell left in the round that took B's CREATE (the round appending B's tag)")
  t.same(createsSent(c), [aOut], "B's CREATE has not left the mix")
  t.equal(client.received.filter((cell) => cellCircuitId(cell) === b.id).length, 0, 'nothing came back on B')
  t.equal(c.exit.node.circuits, 1, 'the exit knows only A')

  const resolvedIn = c.round()
  append.resolve()
  await waitFor(() => backOn(client, b).loops.length === 3, "B's three LOOP echoes")
  t.same(backOn(client, b).loops, [1, 2, 3], "B's LOOPs came back in order")
  const bOut = createsSent(c)[1]!
  const bCells = cellsOf(c.forward).filter((cell) => cell.id === bOut)
  t.same(bCells.map((cell) => cell.command), [CellCommand.CREATE, CellCommand.RELAY, CellCommand.RELAY, CellCommand.RELAY], 'toward the exit: B\'s CREATE, then its three cells')
  t.ok(bCells.every((cell) => cell.round > resolvedIn), 'all in rounds that started after the append resolved')
  t.equal(c.mix.node.stats.tagLogFailures, 0, 'no append failed')
})

t.test('a failed append ends only its circuits, and nothing of theirs ever left', async (t) => {
  const c = await startOneMix({ gated: true })
  t.teardown(() => c.stop())
  const { client, a, aOut } = await established(c)
  t.teardown(() => client.close())
  const gate = c.gate!

  const b = unsentCircuit(client)
  const d = unsentCircuit(client)
  client.send(b.create, loop(client, b, 1), d.create, loop(client, d, 1), loop(client, a, 1))
  await waitFor(() => gate.appends.length === 2, 'the append of B and D')
  const append = gate.appends[1]!
  t.equal(append.tags, 2, 'one append for both new circuits')
  await waitFor(() => backOn(client, a).loops.length === 1, "A's LOOP echo")
  await waitFor(() => c.round() >= append.stampedAt + 2, 'two more rounds')
  t.equal(c.mix.node.circuits, 3, 'B and D wait at the mix')
  append.fail()
  await waitFor(() => c.mix.node.stats.tagLogFailures === 1, 'the failure')
  t.equal(c.mix.node.circuits, 1, 'B and D ended; A did not')

  // A still carries cells; B's later cells are unknown at the mix.
  const unknownBefore = c.mix.node.stats.unknownCircuitCells
  client.send(loop(client, a, 2), loop(client, b, 2))
  await waitFor(() => backOn(client, a).loops.length === 2, "A's second LOOP echo")
  t.same(backOn(client, a).loops, [1, 2], 'A works as before')
  t.equal(c.mix.node.stats.unknownCircuitCells, unknownBefore + 1, "B's later cell is dropped as unknown")
  t.same(createsSent(c), [aOut], 'no CREATE but A\'s ever left the mix')
  t.same([...new Set(cellsOf(c.forward).map((cell) => cell.id))], [aOut], 'no cell but A\'s ever went toward the exit')
  t.equal(client.received.filter((cell) => cellCircuitId(cell) === b.id || cellCircuitId(cell) === d.id).length, 0, 'nothing came back on B or D')
  t.equal(c.exit.node.circuits, 1, 'the exit never saw B or D')
  t.equal(c.exit.node.exitStats.loopsEchoed, 2, 'the exit echoed only A\'s LOOPs')
})

/**
 * Writes of rounds `from` to `to` whose frame count differs from `expected(round, write)`
 * summed over the rounds the write covers (its span: rounds the mix missed, or carried on
 * from a late or carried write, PROTOCOL.md §12.2; `write` is the round of the write). Frames
 * beyond it are added to `found.extra` (R1); fewer are never right.
 */
function mismatches (writes: readonly Write[], from: number, to: number, expected: (round: number, write: number) => number, found: { extra: number }): string[] {
  const bad: string[] = []
  for (const write of writes) {
    const covered = write.round - write.span
    if (write.round < from || write.round > to) continue
    let want = 0
    for (let r = covered; r <= write.round; r++) want += expected(r, write.round)
    const frames = write.cells.length
    if (frames > want) found.extra += frames - want
    else if (frames < want) bad.push(`round ${write.round}: ${frames} frames, expected ${want}`)
  }
  return bad
}

t.test('strict: a pending circuit adds nothing toward the exit, and PADs toward the client', async (t) => {
  const RATE = 1000 // one cell per round per circuit
  const shaping: ShapingParams = { ...DEFAULT_SHAPING.strict, ratesMilli: [RATE], slotMs: 1000, kMin: 1, loopJitterRounds: 0 }
  const c = await startOneMix({ gated: true, shaping, roundMs: 20 })
  t.teardown(() => c.stop())
  const { client, a, aOut } = await established(c)
  t.teardown(() => client.close())
  const gate = c.gate!
  const stats = c.mix.node.stats

  const b = unsentCircuit(client)
  client.send(b.create, loop(client, b, 1), loop(client, b, 2), loop(client, b, 3), loop(client, a, 9))
  await waitFor(() => gate.appends.length === 2, "B's tag log append")
  const append = gate.appends[1]!
  // B was accepted before round `took` ran, so its backward schedule starts in `took`.
  const took = append.stampedAt
  await waitFor(() => backOn(client, a).loops.length === 1, "A's LOOP echo")
  await waitFor(() => c.round() >= took + 5, 'five more rounds')
  const resolvedIn = c.round()
  t.same(createsSent(c), [aOut], "B's CREATE has not left the mix")
  t.ok(backOn(client, b).pads > 0 && backOn(client, b).loops.length === 0, "B's slots toward the client carried PADs only")
  // The last forward release before the append resolved (each direction releases on its own, §12.1).
  const lastForwardBefore = c.forward.at(-1)!.round
  append.resolve()
  await waitFor(() => backOn(client, b).loops.length === 3, "B's three LOOP echoes")
  t.same(backOn(client, b).loops, [1, 2, 3], "B's LOOPs came back in order")
  const sentIn = cellsOf(c.forward).find((cell) => cell.command === CellCommand.CREATE && cell.id !== aOut)!.round
  t.ok(sentIn > lastForwardBefore, "B's CREATE left in a forward release after the append resolved")
  const end = c.round()

  const extra = { extra: 0 }
  // Toward the exit (pipelined, §12.1: round n carries schedule round n): A alone until B's CREATE left, then both, plus the CREATE once.
  const aSentIn = cellsOf(c.forward).find((cell) => cell.id === aOut)!.round
  t.same(mismatches(c.forward, aSentIn + 1, end,
    (round, write) => (write < sentIn ? 1 : 2) * cellsInRound(RATE, round) + (round === sentIn ? 1 : 0), extra), [],
  'mix → exit: one circuit\'s schedule while B waits, two once its CREATE left')
  // Toward the client: both circuits from the round after B was accepted, fsync or not (the
  // round it was accepted in may have left backward, on arrival, before B came: §12.1).
  t.same(mismatches(c.backward, took + 1, end, (round) => 2 * cellsInRound(RATE, round), extra), [],
    'mix → client: A and B\'s schedule every round, before and after the append')
  t.equal(extra.extra, 0, 'no frame beyond the schedule (R1)')
  t.ok(c.backward.filter((w) => w.round >= took && w.round <= resolvedIn).length >= 5, 'rounds while B waited were checked')
  t.equal(stats.circuitsOverQueue, 0, 'no queue went over its bound')
})
