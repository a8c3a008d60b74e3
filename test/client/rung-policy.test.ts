/**
 * The elastic rung policy (src/client/shaping/rung-policy.ts), slot by slot: a saturated slot
 * asks for the top rung — so a bulk transfer that starts in slot s runs at the top rung from
 * slot s+2 at the latest (asked at the end of s or s+1, applied at the next boundary) — and an
 * idle circuit steps down one rung per slot.
 */
import t from 'tap'
import { nextRung, saturationRun, SlotDemand } from '../../src/client/shaping/rung-policy.js'
import { DEFAULT_SHAPING } from '../../src/protocol/shaping.js'

const LADDER = DEFAULT_SHAPING.elastic.ratesMilli
const ROUNDS_PER_SLOT = DEFAULT_SHAPING.elastic.slotMs / 10
const TOP = LADDER.length - 1

function demandOf (fill: (d: SlotDemand) => void): SlotDemand {
  const demand = new SlotDemand()
  fill(demand)
  return demand
}

t.test('a slot that ends saturated, either way, asks for the top rung from any rung', async (t) => {
  for (let current = 0; current <= TOP; current++) {
    const run = saturationRun(LADDER[current]!, ROUNDS_PER_SLOT)
    t.equal(nextRung(LADDER, current, current, demandOf((d) => { d.backwardRun = run; d.backwardReal = run }), ROUNDS_PER_SLOT), TOP, `download at rung ${current}`)
    t.equal(nextRung(LADDER, current, current, demandOf((d) => { d.forwardRun = run; d.forwardReal = run }), ROUNDS_PER_SLOT), TOP, `upload at rung ${current}`)
  }
})

t.test('a bulk download reaches the top rung within two slots of starting', async (t) => {
  // Slot s: the transfer starts late, the circuit at rung 0 carries a short run at its end.
  let current = 0
  let requested = 0
  const run = saturationRun(LADDER[0]!, ROUNDS_PER_SLOT)
  requested = nextRung(LADDER, current, requested, demandOf((d) => { d.backwardRun = run; d.backwardReal = run }), ROUNDS_PER_SLOT)
  // Boundary s → s+1: the circuit runs at what it asked for during s (rung 0), and asks for the top.
  current = 0
  t.equal(requested, TOP, 'asked for the top rung at the end of slot s')
  // Boundary s+1 → s+2: the top rung applies.
  current = requested
  t.equal(current, TOP, 'running at the top rung from slot s+2')
})

t.test('idle, the rung steps down one per slot, to rung 0 and no lower', async (t) => {
  let rung = TOP
  const steps: number[] = []
  for (let slot = 0; slot < LADDER.length + 2; slot++) {
    rung = nextRung(LADDER, rung, rung, new SlotDemand(), ROUNDS_PER_SLOT)
    steps.push(rung)
  }
  t.same(steps, [...Array.from({ length: TOP }, (_, i) => TOP - 1 - i), 0, 0, 0])
})

t.test('steady demand that the rung below could not carry keeps the rung', async (t) => {
  const below = Math.floor(LADDER[1]! * ROUNDS_PER_SLOT / 1000)
  t.equal(nextRung(LADDER, 2, 2, demandOf((d) => { d.backwardReal = below + 1 }), ROUNDS_PER_SLOT), 2)
  t.equal(nextRung(LADDER, 2, 2, demandOf((d) => { d.backwardReal = below }), ROUNDS_PER_SLOT), 1)
})
