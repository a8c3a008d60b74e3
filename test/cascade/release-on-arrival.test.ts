/**
 * Release on arrival (docs/PROTOCOL.md §12.1, src/hop/arrival-gate.ts) on a real loopback
 * cascade of two mixes and the exit, driven by a raw client that keeps a strict schedule of
 * one cell a round, each write marked with its round as a client marks it:
 *   - forward, every hop releases its rounds as the writes of the node before arrive (the
 *     entry once its client's write is in); backward, every mix as its successor's write
 *     arrives, while the exit, which waits for no one, keeps its clock;
 *   - the links still carry exactly the schedule (no drain, no queue over its bound), and
 *     LOOPs come back;
 *   - once the client stops writing, the entry's forward rounds leave at their deadline.
 */
import t, { type Test } from 'tap'
import { cryptoReady } from '../../src/crypto/index.js'
import { DEFAULT_SHAPING, type ShapingParams } from '../../src/protocol/shaping.js'
import type { RunningMix } from '../../src/mix/run-mix.js'
import type { HopStats } from '../../src/hop/hop-stats.js'
import { waitFor } from '../helpers/cascade.js'
import { RawClient, RelayCommand } from '../helpers/raw-circuit.js'
import { mismatches, sleep, startShaped, stopShaped } from '../helpers/shaped-cascade.js'

await cryptoReady()

/** Two mixes and the exit at strict, one cell a round; a raw client with one circuit through them. */
async function strictCascade (t: Test, roundMs: number) {
  const shaping: ShapingParams = { ...DEFAULT_SHAPING.strict, ratesMilli: [1000], slotMs: 400, circuits: 4, circuitSlots: 400 }
  const c = await startShaped(shaping, { mixes: 2, roundMs })
  t.teardown(() => stopShaped(c))
  const [entry, middle] = c.mixes as [RunningMix, RunningMix]
  const client = await RawClient.connect(c.cascade)
  t.teardown(() => client.close())
  await waitFor(() => entry.node.predecessorLinks === 1, 'the client at the entry')
  const circuit = client.createCircuit()
  await waitFor(() => c.exit.node.circuits === 1, 'the circuit at the exit')
  return { c, entry, middle, client, circuit }
}

t.test('rounds leave as the neighbours\' writes arrive, the schedule unchanged; the deadline when a client is silent', async (t) => {
  const ROUND_MS = 20
  const { c, entry, middle, client, circuit } = await strictCascade(t, ROUND_MS)

  // The schedule: one cell a round, a LOOP every tenth, the rest DROPs.
  let sent = 0
  const ticker = setInterval(() => {
    sent++
    client.send(client.relayCell(circuit, 0, sent % 10 === 0 ? RelayCommand.LOOP : RelayCommand.DROP, Uint8Array.of(sent & 0xff)))
  }, ROUND_MS)
  t.teardown(() => clearInterval(ticker))
  const stats = (hop: { node: { stats: HopStats } }): HopStats => hop.node.stats
  await waitFor(() => stats(entry).releasesOnArrivalForward >= 20 && stats(middle).releasesOnArrivalBackward >= 20, 'twenty rounds released on arrival', 30_000)
  const from = c.forward[1]!.rounds.at(-1)! + 1
  await sleep(20 * ROUND_MS)

  t.ok(stats(entry).releasesOnArrivalForward > 0, 'the entry: forward rounds left once the client\'s write was in')
  t.ok(stats(middle).releasesOnArrivalForward > 0, 'the middle mix: once the entry\'s write was in')
  t.ok(stats(c.exit).releasesOnArrivalForward > 0, 'the exit: once the middle mix\'s write was in')
  t.ok(stats(middle).releasesOnArrivalBackward > 0, 'backward, the middle mix: once the exit\'s write was in')
  t.ok(stats(entry).releasesOnArrivalBackward > 0, 'the entry: once the middle mix\'s write was in')
  t.equal(stats(c.exit).releasesOnArrivalBackward, 0, 'the exit\'s backward rounds keep its clock')
  for (const hop of [entry, middle, c.exit]) {
    t.equal(hop.node.stats.circuitsOverQueue, 0, 'no queue over its bound')
  }
  t.same(mismatches(c.forward[1]!, from, () => 1), [], 'middle → exit: exactly one cell a round')
  t.equal(stats(middle).drainRoundsForward + stats(middle).drainRoundsBackward, 0, 'no drain: nothing stood in a queue')
  t.ok(c.exit.node.exitStats.loopsEchoed > 0, 'LOOPs reached the exit and came back')

  clearInterval(ticker)
  const deadlineBefore = stats(entry).releasesAtDeadlineForward
  await sleep(10 * ROUND_MS)
  t.ok(stats(entry).releasesAtDeadlineForward >= deadlineBefore + 5, 'a silent client: the entry\'s forward rounds leave at their deadline')
})

t.test('a client\'s write that misses its round is carried on whole: every hop passes it with the next round, nothing stands (§12.2 "Carried rounds")', async (t) => {
  const ROUND_MS = 40
  const { c, entry, middle, client, circuit } = await strictCascade(t, ROUND_MS)

  // One cell a round, each write an eighth into its round; every tenth round's write instead
  // comes 0.6 of a round in, after the entry's forward deadline (a quarter round in).
  const roundNow = (): number => Math.floor(Date.now() / ROUND_MS)
  const until = async (ms: number): Promise<void> => { while (Date.now() < ms) await sleep(Math.max(1, ms - Date.now())) }
  const sentBy = new Map<number, number>()
  let sent = 0
  const first = roundNow() + 2
  const rounds = 60
  const late: number[] = []
  for (let n = first; n < first + rounds; n++) {
    const isLate = (n - first) % 10 === 5
    await until(n * ROUND_MS + (isLate ? 0.6 : 0.125) * ROUND_MS)
    if (isLate) late.push(n)
    client.sendAs(n, client.relayCell(circuit, 0, RelayCommand.DROP, Uint8Array.of(n & 0xff)))
    sentBy.set(n, ++sent)
  }
  const last = first + rounds - 1
  await waitFor(() => middle.node.lastRound > last + 2, 'the last round through the middle mix')

  // What the entry sent of the circuit by each round (its one circuit's cells; PADDING is circuit 0).
  const leftBy = (writes: typeof c.forward[0], round: number): number => {
    let n = 0
    writes!.rounds.forEach((r, i) => { if (r <= round) for (const [id, count] of writes!.perCircuit[i]!) if (id !== 0) n += count })
    return n
  }
  const standing = (round: number): number => sentBy.get(round)! - leftBy(c.forward[0], round)
  const before = standing(late[0]! - 1)
  t.ok(entry.node.stats.carriedRoundsForward >= 1, `the entry carried late rounds on (${entry.node.stats.carriedRoundsForward})`)
  t.equal(standing(last), before, `no cell more stands at the entry than before the late writes (${before})`)
  t.same(mismatches(c.forward[0]!, first, () => 1), [], 'entry → middle: the schedule of the rounds each write names, nothing else')
  t.same(mismatches(c.forward[1]!, first, () => 1), [], 'middle → exit: the same')
  t.ok(c.forward[0]!.spans.some((span, i) => span > 0 && c.forward[0]!.rounds[i]! >= first), 'the entry said so in its writes\' spans')
  t.ok(middle.node.stats.carriedRoundsForward >= 1, 'and the middle mix carried them on')
  t.equal(entry.node.stats.drainRoundsForward + middle.node.stats.drainRoundsForward, 0, 'no drain: nothing stood')
})
