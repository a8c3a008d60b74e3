/**
 * A suspect circuit keeps its whole schedule, LOOPs included (issue #10 item 6, R3, R10):
 * LOOPs are drawn uniformly over every live circuit, so an exit cannot learn from LOOPs
 * stopping on a circuit that its client raised an alarm there (a tampering entry plus the
 * exit would then link the two). A real shaped client on a real link to a fake cascade that
 * peels every cell as the exit would; the circuit is made suspect the real way, by a
 * backward cell that fails authentication.
 */
import t from 'tap'
import { cryptoReady } from '../../src/crypto/index.js'
import { runClient } from '../../src/client/run-client.js'
import type { ShapingParams } from '../../src/protocol/shaping.js'
import { memoryLogger, waitFor } from '../helpers/cascade.js'
import { startFakeCascade, type SeenCircuit } from './fake-cascade.js'

await cryptoReady()

// One cell per round per circuit, 100 rounds per slot, a third of the cells LOOPs; creation
// slots so far apart (10 000 s) that no circuit ends during the test.
const SHAPING: ShapingParams = {
  profile: 'strict', ratesMilli: [1000], slotMs: 1000, circuits: 3, circuitSlots: 30_000,
  kMin: 1, createHoldRounds: 0, loopsPerSlot: 100, loopJitterRounds: 0, clientRateMilli: 128_000,
}
/** LOOPs to watch after the alarm, over the three circuits. */
const WATCH = 300

t.test('after an integrity alarm the suspect circuit draws LOOPs at the same rate as the others', async (t) => {
  const fake = await startFakeCascade({ shaping: SHAPING })
  t.teardown(() => fake.close())
  const { logger } = memoryLogger('client', 'info')
  // A huge loop margin: no echo ever comes back here, and no probe may be lost in the test
  // (a loss alarm would make more circuits suspect).
  const client = await runClient({ cascade: fake.source, logger, socks: { host: '127.0.0.1', port: 0 }, loopMarginMs: 600_000 })
  t.teardown(() => client.stop())
  await client.node.waitForEntry()
  const shaper = client.node.shaperState!
  await waitFor(() => shaper.circuits().length === 3 && shaper.circuits().every((c) => (fake.circuits.get(c.id)?.cells ?? 0) > 0), 'three circuits through the fake cascade', 30_000)

  // The victim: the circuit that lives longest (the others may be replaced meanwhile).
  const victim = shaper.circuits().reduce((a, b) => (b.endSlot > a.endSlot ? b : a))
  fake.sendGarbage(victim.id)
  await waitFor(() => client.node.stats.integrityFailures === 1, 'the integrity alarm', 30_000)
  t.ok(victim.circuit.suspect, 'the circuit is suspect')

  const snapshot = (): Map<number, { cells: number, loops: number }> =>
    new Map([...fake.circuits.values()].map((c: SeenCircuit) => [c.id, { cells: c.cells, loops: c.loops }]))
  const before = snapshot()
  const others = shaper.circuits().filter((c) => c !== victim).map((c) => c.id)
  const totalLoops = (): number => [...fake.circuits.values()].reduce((sum, c) => sum + c.loops - (before.get(c.id)?.loops ?? 0), 0)
  await waitFor(() => totalLoops() >= WATCH, `${WATCH} LOOPs after the alarm`, 120_000)
  const after = snapshot()
  const delta = (id: number, what: 'cells' | 'loops'): number => after.get(id)![what] - (before.get(id)?.[what] ?? 0)

  const loops = delta(victim.id, 'loops')
  const total = totalLoops()
  // Drawn uniformly over three circuits, the victim's count is Binomial(total, 1/3): for 300,
  // mean 100, sd 8; a sixth of the total is six sd below the mean (p < 1e-8).
  t.ok(loops >= total / 6, `the suspect circuit drew ${loops} of ${total} LOOPs (a third expected)`)
  t.ok(loops <= total / 2, 'and not more than its share')
  for (const id of others) {
    if (!after.has(id) || fake.circuits.get(id)!.destroyed) continue // replaced meanwhile: its successor shares the draw
    t.ok(Math.abs(delta(victim.id, 'cells') - delta(id, 'cells')) <= 3, 'the suspect circuit sent as many cells as another')
  }
})
