/**
 * The hops' half of shaping (docs/PROTOCOL.md §12) on real loopback cascades driven by raw
 * clients that send whatever they like (idle, one big burst, small bursts, LOOPs):
 *   - strict: on every mix→mix and mix→exit link (forward), on every backward link and on the
 *     entry's links to its clients, each round's write carries exactly the profile's frames;
 *     LOOP echoes come back unchanged within 0..J rounds; the test-only fault hook drops what
 *     it says and the links stay exact;
 *   - elastic: a request from rung 0 wakes a circuit inside the slot (forward the next round,
 *     backward hops + 1 rounds on); other rung requests change the hops' rate, each direction
 *     on its own, only from the next slot boundary, and
 *     the entry files the slot's CREATE count;
 *   - kMin: held CREATEs leave when kMin are waiting, or when the hold times out.
 * The links are recorded at the sender: every write, with the round the node was running.
 */
import t from 'tap'
import { cryptoReady, randomBytes } from '../../src/crypto/index.js'
import { CellCommand, cellCircuitId, cellCommand } from '../../src/protocol/cell.js'
import { CELL_HEADER_BYTES } from '../../src/protocol/geometry.js'
import { decodeRelay } from '../../src/protocol/relay-payload.js'
import { cellsInRound, DEFAULT_SHAPING, encodeRungRequest, roundAt, slotAt, wakeDelayRounds, type ShapingParams } from '../../src/protocol/shaping.js'
import type { RunningMix } from '../../src/mix/run-mix.js'
import { waitFor } from '../helpers/cascade.js'
import { RawClient, RelayCommand, type RawCircuit } from '../helpers/raw-circuit.js'
import { countFrom, dropCell, mismatches, sleep, startShaped, stopShaped } from '../helpers/shaped-cascade.js'

await cryptoReady()

/** The LOOP payloads among the backward cells `client` received on `circuit` (each opened once, in order). */
const opened = new Map<RawCircuit, { next: number, echoes: Uint8Array[] }>()
function loopEchoes (client: RawClient, circuit: RawCircuit): Uint8Array[] {
  let state = opened.get(circuit)
  if (state === undefined) { state = { next: 0, echoes: [] }; opened.set(circuit, state) }
  for (; state.next < client.received.length; state.next++) {
    const cell = client.received[state.next]!
    if (cellCircuitId(cell) !== circuit.id || cellCommand(cell) !== CellCommand.RELAY) continue
    const result = circuit.opener.open(cell.subarray(CELL_HEADER_BYTES))
    if (result === null) throw new Error('a backward cell did not open')
    if (result.kind !== 'data') continue
    const message = decodeRelay(result.payload)
    if (message.command === RelayCommand.LOOP) state.echoes.push(Uint8Array.from(message.data))
  }
  return state.echoes
}

t.test('strict: every link carries exactly the profile per round, whatever the clients do', async (t) => {
  const ROUND_MS = 20
  const RATE = 2500 // 2.5 cells per round: rounds alternate 2 and 3 cells per circuit
  const J = 3
  let dropOn = 0
  let dropped = 0
  const shaping: ShapingParams = { ...DEFAULT_SHAPING.strict, ratesMilli: [RATE], slotMs: 1000, loopJitterRounds: J }
  const c = await startShaped(shaping, {
    mixes: 2,
    roundMs: ROUND_MS,
    faults: {
      1: {
        dropForward: (cell) => {
          if (dropOn === 0 || cellCircuitId(cell) !== dropOn || cellCommand(cell) !== CellCommand.RELAY) return false
          dropped++
          return true
        },
      },
    },
  })
  t.teardown(() => stopShaped(c))
  const [entry, middle] = c.mixes as [RunningMix, RunningMix]
  const H = 3
  // Client A: one idle circuit and one that sends a single big burst; client B: one circuit
  // with small bursts, and one with LOOPs only, then the fault hook.
  const a = await RawClient.connect(c.cascade)
  t.teardown(() => a.close())
  await waitFor(() => entry.node.predecessorLinks === 1, 'client A at the entry')
  const b = await RawClient.connect(c.cascade)
  t.teardown(() => b.close())
  await waitFor(() => entry.node.predecessorLinks === 2, 'client B at the entry')
  const idle = a.createCircuit()
  const bulk = a.createCircuit()
  const bursty = b.createCircuit()
  const faulty = b.createCircuit()
  await waitFor(() => c.exit.node.circuits === 4, 'four circuits at the exit')
  // From here on every link carries all four circuits.
  const from = Math.max(entry.node.lastRound, middle.node.lastRound, c.exit.node.lastRound) + 2 * H
  a.send(...Array.from({ length: 300 }, () => dropCell(a, bulk)))
  const loops: Uint8Array[] = []
  for (let i = 0; i < 16; i++) {
    b.send(...Array.from({ length: 1 + (i % 7) }, () => dropCell(b, bursty)))
    const probe = randomBytes(56)
    loops.push(probe)
    b.send(b.relayCell(faulty, 0, RelayCommand.LOOP, probe))
    await sleep(3 * ROUND_MS)
  }
  await waitFor(() => c.exit.node.exitStats.loopsEchoed === 16, 'the LOOPs at the exit')
  // The fault hook: from now on the entry drops every RELAY cell of that circuit.
  dropOn = faulty.id
  b.send(...Array.from({ length: 5 }, () => b.relayCell(faulty, 0, RelayCommand.LOOP, randomBytes(56))))
  await waitFor(() => dropped === 5, 'the fault hook to drop five cells')
  await sleep(10 * ROUND_MS)
  await waitFor(() => loopEchoes(b, faulty).length === 16, 'the LOOP echoes at client B')

  // Pipelined (PROTOCOL.md §12.1): every hop's round n carries schedule round n, both ways.
  const per = (circuits: number) => (round: number) => circuits * cellsInRound(RATE, round)
  // Forward: the entry and the middle mix toward their successors.
  // Mixes never send fewer than the schedule; more only to drain a backlog (stalls), counted.
  const entryExtra = { extra: 0 }
  const middleExtra = { extra: 0 }
  t.same(mismatches(c.forward[0]!, from, per(4), entryExtra), [], 'entry → middle: 4 circuits × schedule each round')
  t.same(mismatches(c.forward[1]!, from, per(4), middleExtra), [], 'middle → exit: 4 circuits × schedule each round')
  t.equal(entryExtra.extra + middleExtra.extra, 0, 'no frame beyond the schedule: a mix never drains a backlog past it (R1)')
  // Backward: the exit, the middle mix, the entry to each client.
  t.same(mismatches(c.backward[2]![0]!, from, per(4)), [], 'exit → middle: exact')
  const backExtra = { extra: 0 }
  t.same(mismatches(c.backward[1]![0]!, from, per(4), backExtra), [], 'middle → entry: exact')
  t.equal(backExtra.extra, 0, 'middle → entry: nothing beyond the schedule')
  const clientExtra = { extra: 0 }
  t.same(mismatches(c.backward[0]![0]!, from, per(2), clientExtra), [], 'entry → client A: exact (idle and bulk alike)')
  t.same(mismatches(c.backward[0]![1]!, from, per(2), clientExtra), [], 'entry → client B: exact (bursts and LOOPs alike)')
  t.equal(clientExtra.extra, 0, 'entry → clients: nothing beyond the schedule (bursts and LOOPs alike)')
  for (const writes of [c.forward[0]!, c.forward[1]!, c.backward[2]![0]!, c.backward[0]![0]!]) {
    t.ok(countFrom(writes, from) > 30, 'enough rounds were checked')
  }
  t.ok(entry.node.stats.paddingOut > 0 && c.exit.node.stats.padsOut > 0, 'shortfalls were filled with PADDING forward and PADs backward')
  t.equal(entry.node.stats.circuitsOverQueue, 0, 'no queue went over its bound')

  // LOOP echoes: unchanged, each after 0..J rounds. LOOPs come at least two rounds apart and
  // the circuit has two or three slots per round, so none waits for a slot; only a round the
  // exit's clock skipped (a stalled process) could add one.
  const hex = (p: Uint8Array): string => Buffer.from(p).toString('hex')
  t.same(loopEchoes(b, faulty).map(hex).sort(), loops.map(hex).sort(), 'every LOOP came back unchanged')
  const exitStats = c.exit.node.exitStats
  const bound = J + c.exit.node.missedRounds
  t.ok(exitStats.loopEchoDelayMaxRounds <= bound, `LOOP echo delay at most J = ${J} rounds (max ${exitStats.loopEchoDelayMaxRounds}, rounds skipped ${c.exit.node.missedRounds})`)
  t.ok(exitStats.loopEchoDelayMaxRounds >= 1, 'the echo delays are not all zero (jitter is drawn)')

  // The fault hook dropped exactly what it said: the dropped LOOPs never reached the exit.
  t.equal(dropped, 5, 'the hook dropped five cells')
  t.equal(exitStats.loopsEchoed, 16, 'the exit echoed only the cells that were not dropped')
  t.equal(entry.node.stats.relayAuthFailures, 0, 'dropped before the entry peeled them')
  t.equal(c.exit.node.circuits, 4, 'no circuit ended, the idle one included')
  t.ok(idle.id !== bulk.id, 'two circuits on client A')
})

t.test('elastic: a request from rung 0 wakes the circuit at once; rungs change per direction at slot boundaries', async (t) => {
  const ROUND_MS = 20
  const SLOT_ROUNDS = 15
  const RATES = [1000, 2000, 3000]
  const shaping: ShapingParams = { ...DEFAULT_SHAPING.elastic, ratesMilli: RATES, slotMs: SLOT_ROUNDS * ROUND_MS }
  const c = await startShaped(shaping, { mixes: 2, roundMs: ROUND_MS })
  t.teardown(() => stopShaped(c))
  const startSlot = slotAt(Date.now(), SLOT_ROUNDS * ROUND_MS)
  const [entry] = c.mixes as [RunningMix, RunningMix]
  const client = await RawClient.connect(c.cascade)
  t.teardown(() => client.close())
  await waitFor(() => entry.node.predecessorLinks === 1, 'the client at the entry')
  // Two slots on: a hop does not file the slot it started in (partial), and its first round
  // may fall in the slot after startSlot.
  await waitFor(() => slotAt(Date.now(), SLOT_ROUNDS * ROUND_MS) > startSlot + 1, 'a slot after the start')
  // And the entry has filed a whole slot of its own: a hop whose start stalled (a loaded
  // machine) may begin its rounds later still, and would count the CREATE in its partial slot.
  await waitFor(() => entry.node.stats.createsPerSlot.reduce((x, y) => x + y, 0) >= 1, 'the entry to file its first whole slot')
  const circuit = client.createCircuit()
  await waitFor(() => c.exit.node.circuits === 1, 'the circuit at the exit')
  const from = Math.max(...c.mixes.map((m) => m.node.lastRound), c.exit.node.lastRound) + 6
  // Slot a: from its middle on, every cell asks for rung 1 both ways (a wake: rung 1 at once,
  // forward from the next round, backward 2 rounds on; and rung 1 for slot a + 1).
  await waitFor(() => { const round = roundAt(Date.now(), ROUND_MS); return round >= from && round % SLOT_ROUNDS >= 2 && round % SLOT_ROUNDS <= 5 }, 'the middle of a slot')
  const askedIn = slotAt(Date.now(), SLOT_ROUNDS * ROUND_MS)
  const sentIn = roundAt(Date.now(), ROUND_MS)
  const sendUntil = async (slot: number, control: number): Promise<void> => {
    while (slotAt(Date.now() + ROUND_MS, SLOT_ROUNDS * ROUND_MS) < slot) {
      client.send(dropCell(client, circuit, control))
      await sleep(ROUND_MS)
    }
  }
  await sendUntil(askedIn + 1, encodeRungRequest(1, 1, askedIn + 1))
  // Slot a + 1: forward 2, backward 0 for slot a + 2 on (the two directions apart).
  await sendUntil(askedIn + 2, encodeRungRequest(2, 0, askedIn + 2))
  await waitFor(() => slotAt(Date.now(), SLOT_ROUNDS * ROUND_MS) >= askedIn + 3, 'one more slot')
  await sleep(4 * ROUND_MS)
  const slotOf = (round: number): number => Math.floor(round / SLOT_ROUNDS)
  // The wake round is the hops' attribution of the first request (its client round + 1
  // forward): the test knows it to a round or two, and every hop must agree on one.
  const rate = (wake: number, direction: 'forward' | 'backward') => (round: number): number => {
    const slot = slotOf(round)
    if (slot < askedIn) return RATES[0]!
    if (slot === askedIn) return round >= wake + (direction === 'forward' ? 0 : wakeDelayRounds('backward', 3) - wakeDelayRounds('forward', 3)) ? RATES[1]! : RATES[0]!
    if (slot === askedIn + 1) return RATES[1]!
    return direction === 'forward' ? RATES[2]! : RATES[0]!
  }
  const per = (wake: number, direction: 'forward' | 'backward') => (round: number) => cellsInRound(rate(wake, direction)(round), round)
  let wake = -1
  for (let w = sentIn - 1; w <= sentIn + 4 && wake < 0; w++) {
    if (mismatches(c.forward[0]!, from, per(w, 'forward'), { extra: 0 }).length === 0) wake = w
  }
  t.ok(wake >= sentIn, `the entry wakes forward from one schedule round (${wake - sentIn} after the one the test sent in)`)
  const extra = { extra: 0 }
  t.same(mismatches(c.forward[0]!, from, per(wake, 'forward'), extra), [], 'entry → middle: the wake, then forward rung 1, then 2')
  // Pipelined (§12.1), a cell the entry got after its release leaves a round later, so a later
  // hop may see the request a round after the entry did: the wake a round later there.
  let middleWake = wake
  for (const w of [wake, wake + 1]) {
    if (mismatches(c.forward[1]!, from, per(w, 'forward'), { extra: 0 }).length === 0) { middleWake = w; break }
  }
  t.same(mismatches(c.forward[1]!, from, per(middleWake, 'forward'), extra), [], `middle → exit: the same schedule rounds (wake ${middleWake - wake} after the entry's)`)
  // The exit may read the request a round late when its process stalls (a late wake applies
  // from its next unscheduled round, PROTOCOL.md §12.3): its schedule must still be exact
  // for one wake round within a round of the entry's.
  let exitWake = wake
  for (const w of [wake, wake + 1, wake - 1]) {
    if (mismatches(c.backward[2]![0]!, from, per(w, 'backward')).length === 0) { exitWake = w; break }
  }
  t.same(mismatches(c.backward[2]![0]!, from, per(exitWake, 'backward')), [], `exit → middle backward: the wake 2 rounds on (exit ${exitWake - wake} from the entry), rung 1, then back to 0 (the exit never drains)`)
  t.same(mismatches(c.backward[0]![0]!, from, per(wake, 'backward'), extra), [], 'entry → client backward too')
  t.equal(extra.extra, 0, 'no frame beyond the schedule')
  const checked = c.forward[0]!.rounds.filter((round) => slotOf(round - 1) >= askedIn + 2).length
  t.ok(checked > SLOT_ROUNDS / 2, 'rounds after the last boundary were checked')
  // The entry filed the CREATE's slot (one CREATE: bucket 1) once that slot ended.
  t.ok(entry.node.stats.createsPerSlot[1]! >= 1, 'the entry counts the slot with one CREATE')
  t.ok(entry.node.stats.createsPerSlot.reduce((x, y) => x + y, 0) >= 2, 'and files every finished slot')
})

t.test('kMin: CREATEs are held until kMin wait, or until the hold times out', async (t) => {
  const shaping: ShapingParams = { ...DEFAULT_SHAPING.strict, ratesMilli: [1000], slotMs: 1000, kMin: 3, createHoldRounds: 20 }
  const c = await startShaped(shaping, { mixes: 2, roundMs: 20 })
  t.teardown(() => stopShaped(c))
  const [entry, middle] = c.mixes as [RunningMix, RunningMix]
  const client = await RawClient.connect(c.cascade)
  t.teardown(() => client.close())
  await waitFor(() => entry.node.predecessorLinks === 1, 'the client at the entry')
  // Three CREATEs in one write: kMin are waiting at the entry's next round.
  client.createCircuit(); client.createCircuit(); client.createCircuit()
  await waitFor(() => c.exit.node.circuits === 3, 'three circuits at the exit')
  t.equal(entry.node.stats.holdReleasesKmin, 1, 'the entry released them because kMin were waiting')
  t.equal(middle.node.stats.holdReleasesKmin, 1, 'and so did the next hop')
  t.equal(entry.node.stats.holdReleasesTimeout, 0, 'without a timeout')
  // One CREATE alone: it waits createHoldRounds at every hop.
  client.createCircuit()
  await waitFor(() => entry.node.circuits === 4, 'the fourth circuit at the entry')
  t.equal(middle.node.circuits, 3, 'held at the entry: the middle mix has not seen it')
  await waitFor(() => c.exit.node.stats.holdReleasesTimeout === 1, 'the fourth circuit released at the exit')
  t.equal(entry.node.stats.holdReleasesTimeout, 1, 'the entry released it at the timeout')
  t.equal(middle.node.stats.holdReleasesTimeout, 1, 'so did the middle mix')
  t.equal(c.exit.node.stats.holdReleasesTimeout, 1, 'and the exit')
})
