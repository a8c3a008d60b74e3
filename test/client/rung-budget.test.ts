/**
 * One client's ceiling on its circuits' rungs (src/client/shaping/rung-budget.ts, PROTOCOL.md
 * §12.3 "Client rate"): whatever the circuits want, the rungs they ask for add up to at most
 * `clientRate` in each direction above the wake rung; a wake always goes through; a climb
 * mid-slot takes only what is left; at a boundary the highest grants step down first, so
 * concurrent downloads share the ceiling rather than the first one keeping it.
 */
import t from 'tap'
import { CircuitRungs } from '../../src/client/shaping/circuit-rungs.js'
import { RungBudget, type BudgetDirection, type BudgetMember } from '../../src/client/shaping/rung-budget.js'
import { decodeBackwardRung, DEFAULT_SHAPING, MILLI, WAKE_RUNG } from '../../src/protocol/shaping.js'

const LADDER = DEFAULT_SHAPING.elastic.ratesMilli
const TOP = LADDER.length - 1
const LIMIT = DEFAULT_SHAPING.elastic.clientRateMilli
const ROUNDS_PER_SLOT = DEFAULT_SHAPING.elastic.slotMs / 10
const HOPS = 3

/** A circuit that wants fixed rungs (the policy is circuit-rungs.ts's; here only the sharing). */
class Wanting implements BudgetMember {
  readonly wants: Record<BudgetDirection, number>
  readonly grants: Record<BudgetDirection, number> = { forward: 0, backward: 0 }
  constructor (forward: number, backward: number) { this.wants = { forward, backward } }
  want (direction: BudgetDirection): number { return this.wants[direction] }
  granted (direction: BudgetDirection): number { return this.grants[direction] }
  grant (direction: BudgetDirection, rung: number): void { this.grants[direction] = rung }
  /** Carried real cells this slot. */
  busyNow = false
  busy (): boolean { return this.busyNow }
}

function budgetOf (members: BudgetMember[], limit = LIMIT): RungBudget {
  return new RungBudget(LADDER, limit, () => members)
}

t.test('the default ceiling is one circuit at the top rung', async (t) => {
  t.equal(LIMIT, LADDER[TOP])
  const budget = budgetOf([])
  t.equal(budget.cost(0), 0, 'rung 0 costs nothing')
  t.equal(budget.cost(WAKE_RUNG), 0, 'nor does the wake rung')
  t.equal(budget.cost(WAKE_RUNG + 1), LADDER[WAKE_RUNG + 1], 'above it, its rate')
})

t.test('at a boundary: wants that fit are granted as they are', async (t) => {
  const members = [new Wanting(2, TOP), new Wanting(1, 1), new Wanting(0, 0)]
  budgetOf(members).share('backward')
  t.same(members.map((m) => m.grants.backward), [TOP, 1, 0])
})

t.test('two downloads at the top share the ceiling: both step down to the rung below', async (t) => {
  const members = [new Wanting(0, TOP), new Wanting(0, TOP)]
  const budget = budgetOf(members)
  budget.share('backward')
  t.same(members.map((m) => m.grants.backward), [TOP - 1, TOP - 1], '64 + 64 = 128')
  t.ok(budget.limited > 0, 'counted')
})

t.test('a new download beside one at the top gets its climb from the next boundary; the old one makes room', async (t) => {
  const climb = 4 // 32 cells a round: the climb from the wake rung
  const members = [new Wanting(0, TOP), new Wanting(0, climb)]
  budgetOf(members).share('backward')
  t.same(members.map((m) => m.grants.backward), [TOP - 1, climb], '64 + 32 ≤ 128')
})

t.test('property: whatever twelve circuits want, grants fit, never exceed wants, and cut the highest first', async (t) => {
  let seed = 7
  const random = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n }
  for (let trial = 0; trial < 500; trial++) {
    const members = Array.from({ length: 1 + random(12) }, () => new Wanting(random(LADDER.length), random(LADDER.length)))
    const limit = [LIMIT, 8 * MILLI, 64 * MILLI, 500 * MILLI][random(4)]!
    const budget = budgetOf(members, limit)
    for (const direction of ['forward', 'backward'] as const) {
      budget.share(direction)
      const used = budget.usedBy(direction)
      if (used > limit) t.fail(`trial ${trial} ${direction}: ${used} > ${limit}`)
      for (const m of members) {
        if (m.grants[direction] > m.wants[direction]) t.fail(`trial ${trial}: granted above want`)
        if (m.wants[direction] <= WAKE_RUNG && m.grants[direction] !== m.wants[direction]) t.fail(`trial ${trial}: a wake or rung 0 was cut`)
      }
      // Max-min fair: a cut circuit ends at a rung no lower than any other circuit's grant minus one.
      const highest = Math.max(...members.map((m) => m.grants[direction]))
      for (const m of members) {
        if (m.grants[direction] < m.wants[direction] && m.grants[direction] < highest - 1) t.fail(`trial ${trial}: cut to ${m.grants[direction]} while another holds ${highest}`)
      }
    }
  }
  t.pass('500 random sets')
})

t.test('mid-slot, a climb takes only what is left, and never gives back what it holds', async (t) => {
  const holder = new Wanting(0, TOP)
  const climber = new Wanting(0, 4)
  const budget = budgetOf([holder, climber])
  holder.grants.backward = TOP
  climber.grants.backward = WAKE_RUNG
  t.equal(budget.allowed('backward', climber, 4), WAKE_RUNG, 'no room beside the top rung: it stays at the wake rung')
  holder.grants.backward = TOP - 1
  t.equal(budget.allowed('backward', climber, 4), 4, '64 held: 32 more fits')
  t.equal(budget.allowed('backward', climber, TOP), TOP - 1, 'the top does not; the rung below does')
  climber.grants.backward = 3
  t.equal(budget.allowed('backward', climber, 2), 3, 'a want below its grant keeps the grant')
})

/** Two circuits of one client downloading at once, slot after slot, as the Shaper runs them. */
t.test('two downloads of one client: each climbs, together they never ask for more than the ceiling', async (t) => {
  const circuits: CircuitRungs[] = []
  const budget = new RungBudget(LADDER, LIMIT, () => circuits)
  circuits.push(new CircuitRungs(LADDER, ROUNDS_PER_SLOT, HOPS, budget), new CircuitRungs(LADDER, ROUNDS_PER_SLOT, HOPS, budget))
  const asked: number[][] = [[], []]
  let worst = 0
  for (let slot = 0; slot < 8; slot++) {
    if (slot > 0) {
      for (const c of circuits) c.slotBoundary()
      budget.share('backward')
      budget.share('forward')
    }
    for (let round = slot * ROUNDS_PER_SLOT; round < (slot + 1) * ROUNDS_PER_SLOT; round++) {
      circuits.forEach((c, i) => {
        // The second download starts two slots after the first.
        if (i === 1 && slot < 2) return
        c.ranRound(round)
        const cells = Math.max(1, Math.round(LADDER[c.backwardAt(round)]! / MILLI))
        for (let k = 0; k < cells; k++) { c.receivedCell(); c.receivedReal(round) }
        if (round % 5 === 0) { c.sentReal(true, round); asked[i]!.push(decodeBackwardRung(c.control(round, slot))) }
      })
      const sum = budget.usedBy('backward')
      if (sum > worst) worst = sum
    }
  }
  t.ok(worst <= LIMIT, `the requests never added up to more than the ceiling (at most ${worst / MILLI} cells a round)`)
  t.ok(asked[0]!.includes(TOP), 'alone, the first download reached the top')
  t.equal(circuits[0]!.backward, TOP - 1, 'with the second one running, the first runs a rung lower …')
  t.equal(circuits[1]!.backward, TOP - 1, '… and the second as high: they share the ceiling')
})

t.test('congestion halves the capacity and cuts the grants down to it at once', async (t) => {
  const members = [new Wanting(0, TOP - 1), new Wanting(0, TOP - 1)]
  const budget = budgetOf(members)
  budget.share('backward')
  t.same(members.map((m) => m.grants.backward), [TOP - 1, TOP - 1], '64 + 64 fit the client rate')
  budget.congested('busy')
  t.equal(budget.capacityMilli, LIMIT / 2, 'half of the client rate')
  t.equal(budget.congestions.busy, 1, 'counted')
  const used = members.reduce((sum, m) => sum + budget.cost(m.grants.backward), 0)
  t.ok(used <= budget.capacityMilli, `the grants fit the new capacity now (${used / MILLI} cells a round)`)
  t.same(members.map((m) => m.grants.backward), [TOP - 2, TOP - 2], 'both stepped down alike')
  budget.congested('busy')
  t.equal(budget.capacityMilli, LIMIT / 2, 'at most once a slot')
  t.equal(budget.congestions.busy, 1)
})

t.test('a slot without congestion raises the capacity by an eighth of the client rate, up to it', async (t) => {
  const members = [new Wanting(0, TOP)]
  const budget = budgetOf(members)
  budget.share('backward')
  budget.congested('busy')
  t.equal(budget.capacityMilli, LIMIT / 2)
  budget.slotBoundary() // the congested slot ends: no raise
  t.equal(budget.capacityMilli, LIMIT / 2, 'the slot that was congested raises nothing')
  budget.share('backward')
  t.ok(budget.cost(members[0]!.grants.backward) <= LIMIT / 2, 'the want is shared out within the capacity')
  const seen: number[] = []
  for (let slot = 0; slot < 8; slot++) { budget.slotBoundary(); seen.push(budget.capacityMilli) }
  t.same(seen.slice(0, 4), [LIMIT * 5 / 8, LIMIT * 6 / 8, LIMIT * 7 / 8, LIMIT], 'an eighth per calm slot')
  t.equal(budget.capacityMilli, LIMIT, 'never above the client rate')
  budget.share('backward')
  t.equal(members[0]!.grants.backward, TOP, 'the top rung again')
})

t.test('the capacity never falls below the first rung above the wake rung; a wake still costs nothing', async (t) => {
  const members = [new Wanting(WAKE_RUNG, TOP)]
  const budget = budgetOf(members)
  budget.share('backward')
  for (let i = 0; i < 12; i++) { budget.congested('busy'); budget.slotBoundary(); budget.congested('busy') }
  t.equal(budget.capacityMilli, LADDER[WAKE_RUNG + 1], 'the floor')
  t.equal(budget.allowed('backward', new Wanting(0, 0), WAKE_RUNG), WAKE_RUNG, 'a wake goes through')
})

t.test('a climb mid-slot takes only what the capacity leaves', async (t) => {
  const holder = new Wanting(0, TOP - 1)
  const climber = new Wanting(0, 0)
  const budget = budgetOf([holder, climber])
  budget.share('backward')
  budget.congested('busy') // capacity 64: the holder's 64 still fits
  t.equal(budget.capacityMilli, LIMIT / 2)
  t.equal(holder.grants.backward, TOP - 1)
  t.equal(budget.allowed('backward', climber, TOP), WAKE_RUNG, 'nothing left above the wake rung')
})

t.test('mid-slot, a climb takes no more than an equal share among the busy circuits', async (t) => {
  const climber = new Wanting(0, TOP)
  const others = Array.from({ length: 7 }, () => new Wanting(0, 0))
  const idle = Array.from({ length: 4 }, () => new Wanting(0, 0))
  const budget = budgetOf([climber, ...others, ...idle])
  t.equal(budget.allowed('backward', climber, TOP), TOP, 'no other circuit busy: all of it')
  for (const o of others) o.busyNow = true
  t.equal(budget.fairShare('backward', climber), LIMIT / 8, 'eight busy (idle circuits do not count): an eighth')
  t.equal(LADDER[budget.allowed('backward', climber, TOP)], 8 * MILLI, 'the highest rung within it: 8 cells a round')
  others[0]!.busyNow = false
  others[0]!.grants.backward = 3
  t.equal(budget.fairShare('backward', climber), LIMIT / 8, 'a circuit that holds a rung above the wake rung counts as busy')
  t.equal(budget.allowed('backward', new Wanting(0, 0), WAKE_RUNG), WAKE_RUNG, 'a wake still goes through')
})
