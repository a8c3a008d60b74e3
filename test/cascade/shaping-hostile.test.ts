/**
 * Hostile neighbours against a shaped cascade (issue #10, DESIGN-REVIEW R1, R5), on real
 * loopback cascades driven by raw clients, with every link recorded at the sender:
 *   - a DESTROY is no cross-mix signal: the circuit stops carrying real cells, but its
 *     schedule goes on, toward the successor and toward the client, until its scheduled end
 *     (the next creation slot); then it ends, and its ID stays quarantined for a while;
 *   - a successor that repeats cells on one circuit (a watermark) cannot make that circuit
 *     stand out on the predecessor link: the mix drains its backlog for every circuit alike;
 *   - a client that floods LOOPs cannot grow the exit's echo queue: past a small cap per
 *     circuit they are dropped and counted, and the circuit goes on.
 */
import t from 'tap'
import { cryptoReady, randomBytes } from '../../src/crypto/index.js'
import { CellCommand, cellCircuitId, DestroyReason, encodeDestroy } from '../../src/protocol/cell.js'
import { cellsInRound, DEFAULT_SHAPING, isCreationSlot, roundAt, type ShapingParams } from '../../src/protocol/shaping.js'
import { MAX_LOOPS_WAITING } from '../../src/hop/circuit-shape.js'
import { CELL_HEADER_BYTES } from '../../src/protocol/geometry.js'
import { decodeRelay } from '../../src/protocol/relay-payload.js'
import type { RunningMix } from '../../src/mix/run-mix.js'
import { waitFor } from '../helpers/cascade.js'
import { RawClient, RelayCommand } from '../helpers/raw-circuit.js'
import { mismatches, sleep, startShaped, stopShaped, type Writes } from '../helpers/shaped-cascade.js'

await cryptoReady()

/** The writes of rounds `from` ≤ round < `to`. */
function between (writes: Writes, to: number): Writes {
  const keep = writes.rounds.map((round) => round < to)
  return { rounds: writes.rounds.filter((_, i) => keep[i]), spans: writes.spans.filter((_, i) => keep[i]), frames: writes.frames.filter((_, i) => keep[i]), perCircuit: writes.perCircuit.filter((_, i) => keep[i]) }
}

t.test('a DESTROY silences a shaped circuit: its schedule goes on until its scheduled end', async (t) => {
  const ROUND_MS = 20
  const SLOT_ROUNDS = 20
  const RATE = 1000
  // A creation slot every 10 slots (4 s); circuits live 40 slots (16 s), so the kept one
  // outlives the test while the destroyed one ends at the next creation slot.
  const shaping: ShapingParams = { ...DEFAULT_SHAPING.strict, ratesMilli: [RATE], slotMs: SLOT_ROUNDS * ROUND_MS, circuits: 4, circuitSlots: 40 }
  const c = await startShaped(shaping, { mixes: 2, roundMs: ROUND_MS })
  t.teardown(() => stopShaped(c))
  const [entry] = c.mixes as [RunningMix, RunningMix]
  const client = await RawClient.connect(c.cascade)
  t.teardown(() => client.close())
  await waitFor(() => entry.node.predecessorLinks === 1, 'the client at the entry')
  const kept = client.createCircuit()
  const doomed = client.createCircuit()
  await waitFor(() => c.exit.node.circuits === 2, 'both circuits at the exit')

  // DESTROY well inside a slot that is neither a creation slot nor just before one.
  const slotOf = (round: number): number => Math.floor(round / SLOT_ROUNDS)
  await waitFor(() => {
    const round = roundAt(Date.now(), ROUND_MS)
    const slot = slotOf(round)
    return !isCreationSlot(shaping, slot) && !isCreationSlot(shaping, slot + 1) && round % SLOT_ROUNDS >= 14 && round % SLOT_ROUNDS <= 16
  }, 'a round in the middle of an ordinary slot', 15_000)
  const from = Math.max(...c.mixes.map((m) => m.node.lastRound), c.exit.node.lastRound) + 4
  const destroyRound = roundAt(Date.now(), ROUND_MS)
  client.send(encodeDestroy(c.cascade.geometry, doomed.id, DestroyReason.FINISHED))
  await waitFor(() => entry.node.stats.destroysIn === 1, 'the DESTROY at the entry')
  let endSlot = slotOf(destroyRound) + 1
  while (!isCreationSlot(shaping, endSlot)) endSlot++
  const endRound = endSlot * SLOT_ROUNDS
  t.equal(entry.node.stats.circuitsSilenced, 1, 'the entry silenced the circuit')
  t.equal(entry.node.circuits, 2, 'and keeps it until its scheduled end')

  // Real cells on the silenced circuit are dropped; the kept one goes on.
  client.send(client.relayCell(doomed, 0, RelayCommand.DROP, randomBytes(8)))
  await waitFor(() => entry.node.stats.cellsDroppedSilenced >= 1, 'the late cell dropped')
  await waitFor(() => entry.node.lastRound > endRound + 4, 'the scheduled end', 15_000)
  await waitFor(() => entry.node.circuits <= 1, 'the silenced circuit ended at the entry').catch((err: Error) => {
    throw new Error(`${err.message}: ${JSON.stringify({ circuits: entry.node.circuits, lastRound: entry.node.lastRound, endRound, destroyRound, stats: entry.node.stats })}`)
  })
  t.equal(entry.node.circuits, 1, 'the other circuit lives on')

  const per = (circuits: number) => (round: number) => circuits * cellsInRound(RATE, round) // pipelined: schedule round = round
  t.same(mismatches(between(c.forward[0]!, endRound), from, per(2)), [], 'entry → middle: both circuits\' schedule every round until the end, the DESTROY notwithstanding')
  t.same(mismatches(between(c.backward[0]![0]!, endRound), from, per(2)), [], 'entry → client: both circuits\' schedule (PADs for the silenced one) until the end')
  t.ok(c.forward[0]!.rounds.filter((round) => round > destroyRound + 2 && round < endRound).length > 10, 'rounds after the DESTROY were checked')
  t.same(mismatches(between(c.forward[0]!, endRound + 200), endRound + 4, per(1)), [], 'after the end, one circuit\'s schedule')

  // The ID is quarantined on the link for a while after the circuit ended.
  const refused = entry.node.stats.createsRefusedQuarantine
  client.createOn(doomed.id, client.createCircuit().create)
  await waitFor(() => entry.node.stats.createsRefusedQuarantine === refused + 1, 'the CREATE on the quarantined ID refused')
  t.ok(kept.id !== doomed.id, 'the kept circuit is another one')
  t.equal(entry.node.stats.relayAuthFailures, 0, 'nothing failed authentication')
})

t.test('a successor\'s burst on one circuit never shows as that circuit\'s on the predecessor link (R1)', async (t) => {
  const ROUND_MS = 20
  const RATE = 1000
  const BURST = 60
  let armed = false
  let burstOn = -1
  const shaping: ShapingParams = { ...DEFAULT_SHAPING.strict, ratesMilli: [RATE], slotMs: 400 }
  const c = await startShaped(shaping, {
    mixes: 2,
    roundMs: ROUND_MS,
    // A hostile exit: once armed, the next backward cell reaches the middle mix BURST + 1 times.
    fromSuccessor: {
      2: (cell) => {
        if (!armed || cell[4] !== CellCommand.RELAY) return 1
        armed = false
        burstOn = cellCircuitId(cell)
        return BURST + 1
      },
    },
  })
  t.teardown(() => stopShaped(c))
  const [entry, middle] = c.mixes as [RunningMix, RunningMix]
  const client = await RawClient.connect(c.cascade)
  t.teardown(() => client.close())
  await waitFor(() => entry.node.predecessorLinks === 1, 'the client at the entry')
  for (let i = 0; i < 3; i++) client.createCircuit()
  await waitFor(() => c.exit.node.circuits === 3, 'three circuits at the exit')
  await sleep(10 * ROUND_MS)
  const from = Math.max(...c.mixes.map((m) => m.node.lastRound), c.exit.node.lastRound) + 4
  await waitFor(() => middle.node.lastRound > from, 'the rounds checked to begin')
  armed = true
  await waitFor(() => burstOn >= 0, 'the burst delivered to the middle mix')
  const drained = middle.node.stats.drainRoundsBackward
  await waitFor(() => middle.node.stats.drainRoundsBackward > drained, 'the middle mix to drain')
  await sleep(30 * ROUND_MS)
  const toEntry = c.backward[1]![0]!
  const found = { extra: 0, carried: 0 }
  t.same(mismatches(toEntry, from, (round) => 3 * cellsInRound(RATE, round), found), [], 'middle → entry: the schedule, or a drain of the whole link')
  t.equal(found.extra, 0, 'nothing beyond the schedule but whole-link drains')
  t.ok(found.carried > 0, `the burst was drained (${found.carried} writes carried earlier rounds)`)
  const uneven = toEntry.rounds.map((round, i) => ({ round, counts: [...toEntry.perCircuit[i]!.values()] }))
    .filter(({ round, counts }) => round >= from && (counts.length !== 3 || counts.some((n) => n !== counts[0])))
  t.same(uneven, [], 'in every write toward the entry, every circuit had as many cells as the others')
  t.equal(middle.node.stats.circuitsOverQueue, 0, 'no queue went over its bound')
})

t.test('a flood of LOOPs cannot grow the exit\'s echo queue: past the cap they are dropped', async (t) => {
  const ROUND_MS = 20
  // No mix: the client speaks to the exit directly, so nothing shapes its LOOPs on the way.
  const shaping: ShapingParams = { ...DEFAULT_SHAPING.strict, ratesMilli: [1000], slotMs: 400, loopJitterRounds: 8 }
  const c = await startShaped(shaping, { mixes: 0, roundMs: ROUND_MS })
  t.teardown(() => stopShaped(c))
  const client = await RawClient.connect(c.cascade)
  t.teardown(() => client.close())
  const circuit = client.createCircuit()
  await waitFor(() => c.exit.node.circuits === 1, 'the circuit at the exit')
  const FLOOD = 300
  client.send(...Array.from({ length: FLOOD }, () => client.relayCell(circuit, 0, RelayCommand.LOOP, randomBytes(56))))
  const stats = c.exit.node.exitStats
  await waitFor(() => stats.loopsEchoed + stats.loopsDropped >= FLOOD, 'every LOOP echoed or dropped')
  t.ok(stats.loopsDropped >= FLOOD - MAX_LOOPS_WAITING - 20, `most of the flood was dropped (${stats.loopsDropped} of ${FLOOD})`)
  await sleep(10 * ROUND_MS)
  t.equal(c.exit.node.circuits, 1, 'the circuit goes on')
  t.equal(c.exit.node.stats.circuitsOverQueue, 0, 'no queue went over its bound')
  // The echoes queued before the cap come back, each opened once under every backward layer.
  let next = 0
  let echoes = 0
  const countEchoes = (): number => {
    for (; next < client.received.length; next++) {
      const cell = client.received[next]!
      if (cellCircuitId(cell) !== circuit.id || cell[4] !== CellCommand.RELAY) continue
      const opened = circuit.opener.open(cell.subarray(CELL_HEADER_BYTES))
      if (opened?.kind === 'data' && decodeRelay(opened.payload).command === RelayCommand.LOOP) echoes++
    }
    return echoes
  }
  await waitFor(() => countEchoes() >= stats.loopsEchoed, 'the queued echoes back at the client')
  t.ok(echoes >= 1 && echoes === stats.loopsEchoed, `every queued echo came back (${echoes})`)
})
