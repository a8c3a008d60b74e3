/**
 * Per-site isolation under shaping (issue #13) at the Shaper, on a hand-driven clock, in the
 * steady state of the default `elastic` parameters: circuits nobody used yet are spares, and
 * a burst of new isolation keys takes one each at once; a key beyond them waits for the next
 * creation slot and gets that circuit; and what the client builds (its CREATEs, its circuits
 * and their ends) is the same whether or not any key came. A key whose circuit holds as many
 * streams as a circuit may takes a spare as a new key does, and waits once none is left
 * (issue #17); no circuit ever serves two keys.
 */
import t from 'tap'
import { cryptoReady } from '../../src/crypto/index.js'
import type { Shaper } from '../../src/client/shaping/shaper.js'
import { creationStep, drainSlots } from '../../src/client/shaping/circuit-lanes.js'
import { DEFAULT_SHAPING, slotAt } from '../../src/protocol/shaping.js'
import { SHAPED_STREAMS_PER_CIRCUIT } from '../../src/protocol/stream-bound.js'
import { ClientCircuit } from '../../src/client/client-circuit.js'
import { runTo, SHAPER_ROUND_MS, shaperAt } from '../helpers/shaper.js'

await cryptoReady()

const params = DEFAULT_SHAPING.elastic
const K = params.circuits
const step = creationStep(params)

/** Run the first rounds of every slot from the clock's slot up to (not including) `toSlot`. */
function runSlots (shaper: Shaper, clock: { ms: number }, toSlot: number): void {
  for (let slot = slotAt(clock.ms, params.slotMs) + 1; slot < toSlot; slot++) {
    for (let r = 0; r < 6; r++) runTo(shaper, clock, slot * params.slotMs + r * SHAPER_ROUND_MS)
  }
}

/** A slot in the middle of a step, two lifetimes after start-up (the steady state). */
function steady (): { shaper: Shaper, idle: Shaper, clock: { ms: number }, idleClock: { ms: number }, slot: number } {
  const start = 1_000_000 * step
  const clock = { ms: start * params.slotMs }
  const idleClock = { ms: clock.ms }
  const shaper = shaperAt(params, clock)
  const idle = shaperAt(params, idleClock)
  const slot = start + 2 * params.circuitSlots + Math.floor(step / 2)
  for (const [s, c] of [[shaper, clock], [idle, idleClock]] as const) {
    runTo(s, c, c.ms)
    runSlots(s, c, slot + 1)
  }
  return { shaper, idle, clock, idleClock, slot }
}

t.test(`defaults: ${K} circuits, so ten new keys at once find a spare each`, async (t) => {
  t.ok(K >= 11, 'ten keys and one lane in its drain fit')
  const { shaper, idle, slot } = steady()
  t.equal(shaper.circuits().length, K, `${K} circuits in the steady state`)
  const chosen = Array.from({ length: 10 }, (_, i) => shaper.choose(`site${i}`))
  t.ok(chosen.every((c) => c !== null), 'every key got a circuit at once')
  t.equal(new Set(chosen).size, 10, 'ten distinct circuits')
  t.ok(chosen.every((c) => c!.endSlot - slot > drainSlots(params)), 'each with more than the drain to live')
  t.same(chosen.map((c) => shaper.choose(c!.boundKey!)), chosen, 'each key stays on its circuit')
  shaper.stop(); idle.stop()
})

t.test('beyond K keys a new key waits for the next creation slot, then gets its circuit; nothing else changes', async (t) => {
  const { shaper, idle, clock, idleClock, slot } = steady()
  const served = new Set<unknown>()
  let key = 0
  for (; key < 2 * K; key++) {
    const c = shaper.choose(`site${key}`)
    if (c === null) break
    t.notOk(served.has(c), `site${key}: a circuit no other key has`)
    served.add(c)
  }
  t.ok(key <= K, `at most K keys (${key}) hold a circuit`)
  t.ok(key >= K - 1, 'every circuit with a slot left took a key')
  const waiting = `site${key}`
  t.equal(shaper.choose(waiting), null, 'the next key waits')
  const next = (Math.floor(slot / step) + 1) * step
  runSlots(shaper, clock, next + 1)
  runSlots(idle, idleClock, next + 1)
  const fresh = shaper.choose(waiting)
  t.ok(fresh !== null && fresh.builtSlot === next, 'at the next creation slot it gets the new circuit')
  t.ok(fresh !== null && !served.has(fresh), 'a circuit of its own')
  // The schedule is the clock's alone: same CREATEs, same number of circuits, same ends.
  t.equal(shaper.counters.creates, idle.counters.creates, 'as many CREATEs as a client nobody used')
  t.same(shaper.circuits().map((c) => c.endSlot).sort(), idle.circuits().map((c) => c.endSlot).sort(), 'the same circuits, ending in the same slots')
  shaper.stop(); idle.stop()
})

/** Fill `circuit` with open streams up to `count` (what placement counts; nothing is sent). */
function fill (circuit: ClientCircuit, count: number): void {
  while (circuit.streams.size < count) circuit.streams.open(circuit.allocateStreamId())
}

t.test(`a key beyond ${SHAPED_STREAMS_PER_CIRCUIT} streams on its circuit takes a spare, then waits; isolation holds`, async (t) => {
  // Just after start-up, every lane built (a hand-driven clock returns no LOOPs, so a longer
  // run would fail closed and refuse every placement).
  const clock = { ms: 1_000_000 * step * params.slotMs }
  const shaper = shaperAt(params, clock)
  const start = clock.ms
  for (let r = 0; r < 6; r++) runTo(shaper, clock, start + r * SHAPER_ROUND_MS)
  t.equal(shaper.circuits().length, K, `${K} circuits at start-up`)
  const other = shaper.place('other') as ClientCircuit
  const first = shaper.place('big') as ClientCircuit
  t.ok(other instanceof ClientCircuit && first instanceof ClientCircuit && first !== other, 'two keys, two circuits')
  fill(first, SHAPED_STREAMS_PER_CIRCUIT - 1)
  t.equal(shaper.place('big'), first, 'one below the bound: the same circuit')
  fill(first, SHAPED_STREAMS_PER_CIRCUIT)
  const held = new Set([first])
  for (;;) {
    const placed = shaper.place('big')
    if (!(placed instanceof ClientCircuit)) {
      t.equal(placed, 'wait-full', 'no circuit with room left: the stream waits, and the owner is told why')
      break
    }
    t.notOk(held.has(placed), 'each time a circuit the key did not fill yet')
    t.not(placed, other, 'never the circuit of another key')
    t.equal(shaper.circuits().find((s) => s.circuit === placed)!.boundKey, 'big', 'bound to the key from now on')
    held.add(placed)
    fill(placed, SHAPED_STREAMS_PER_CIRCUIT)
  }
  t.ok(held.size >= 2, `the key took spares beyond its first circuit (${held.size} in all)`)
  t.ok(shaper.circuits().every((s) => s.boundKey === null || s.boundKey === 'big' || s.circuit === other), 'no circuit serves two keys')
  t.equal(shaper.place('other'), other, 'the other key keeps its circuit')
  const spare = shaper.circuits().filter((s) => s.boundKey === null).length
  t.equal(shaper.place('new'), spare > 0 ? shaper.circuits().find((s) => s.boundKey === 'new')?.circuit : 'wait', 'a new key takes what is left, or waits (not counted as full)')
  first.streams.get(1)!.close(null, false)
  t.equal(shaper.place('big'), first, 'a stream that ends makes room')
  shaper.stop()
})
