/**
 * The arrival gate (src/hop/arrival-gate.ts, PROTOCOL.md §12.1): a round is ready once every
 * source that owes it a write has sent it; a round nobody owes is never ready (it waits for
 * the deadline); a source that sent ahead counts as arrived; a late write never makes a
 * later round ready; a source that leaves owes nothing.
 */
import t from 'tap'
import fc from 'fast-check'
import { ArrivalGate, LATE_CREDIT_ROUNDS, MAX_LATE_ROUNDS, newArrivalSource, type ArrivalSource } from '../../src/hop/arrival-gate.js'

const sources = (n: number): ArrivalSource[] => Array.from({ length: n }, () => newArrivalSource())

t.test('ready once every owing source sent the round, and not before', async (t) => {
  const gate = new ArrivalGate<ArrivalSource>()
  const [a, b, c] = sources(3)
  t.equal(gate.round, -1, 'not armed yet')
  t.notOk(gate.arm(10, [a!, b!, c!], (s) => s !== c), 'a and b owe round 10, c does not')
  t.equal(gate.round, 10)
  t.notOk(gate.arrived(c!, 10), 'c\'s write does not count: it owed nothing')
  t.notOk(gate.arrived(a!, 10), 'b still owes')
  t.notOk(gate.arrived(a!, 10), 'a second write of a does not stand in for b')
  t.ok(gate.arrived(b!, 10), 'b sent it: ready')
  t.ok(gate.ready)
})

t.test('a round nobody owes is never ready: it waits for its deadline', async (t) => {
  const gate = new ArrivalGate<ArrivalSource>()
  const [a] = sources(1)
  t.notOk(gate.arm(5, [a!], () => false))
  t.notOk(gate.arrived(a!, 5), 'an unforeseen write does not release it')
  t.notOk(gate.ready)
})

t.test('a write that arrived before the round was armed counts; a late one never readies a later round', async (t) => {
  const gate = new ArrivalGate<ArrivalSource>()
  const [a, b] = sources(2)
  gate.arm(7, [a!, b!], () => true)
  gate.arrived(a!, 8) // a is a round ahead: its write of 8 covers 7 too
  t.ok(gate.arrived(b!, 7), 'round 7 ready')
  t.notOk(gate.arm(8, [a!, b!], () => true), 'round 8: a sent it already, b owes it')
  t.notOk(gate.arrived(b!, 7), 'b\'s repeated write of 7 is no write of 8')
  t.ok(gate.arrived(b!, 8))
})

t.test('a source that leaves owes nothing', async (t) => {
  const gate = new ArrivalGate<ArrivalSource>()
  const [a, b] = sources(2)
  gate.arm(3, [a!, b!], () => true)
  t.notOk(gate.arrived(a!, 3))
  t.ok(gate.gone(b!), 'b closed: nothing is owed any more')
  t.notOk(gate.gone(b!), 'gone twice changes nothing')
})

t.test('any order of arrivals: ready exactly when the last owing source has sent the round', async (t) => {
  fc.assert(fc.property(
    fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
    fc.array(fc.nat(), { maxLength: 40 }),
    (owes, picks) => {
      const all = sources(owes.length)
      const gate = new ArrivalGate<ArrivalSource>()
      let ready = gate.arm(100, all, (s) => owes[all.indexOf(s)]!)
      const sent = new Set<number>()
      for (const pick of picks) {
        const i = pick % all.length
        sent.add(i)
        if (gate.arrived(all[i]!, 100)) ready = true
        const expected = owes.some((o) => o) && owes.every((o, j) => !o || sent.has(j))
        if (ready !== expected || gate.ready !== expected) return false
      }
      return true
    }), { numRuns: 300 })
  t.pass('300 random orders agreed')
})

// --- carried rounds (PROTOCOL.md §12.2 "Carried rounds") ----------------------------------------

/** Release `round` as a hop does: how many rounds beyond its own it carries, then arm the next. */
function release (gate: ArrivalGate<ArrivalSource>, round: number, all: ArrivalSource[], owes: (s: ArrivalSource, r: number) => boolean = () => true): number {
  const carried = gate.carried(round)
  gate.arm(round + 1, all, owes)
  return carried
}

t.test('a write\'s span is carried on once every owed write of the round is in: the least span of them', async (t) => {
  const gate = new ArrivalGate<ArrivalSource>()
  const [a, b] = sources(2)
  gate.arm(10, [a!, b!], () => true)
  gate.arrived(a!, 10, 3)
  t.equal(gate.carried(10), 0, 'b has not sent round 10: a\'s span alone is not carried (it would mark a\'s circuits)')
  gate.arrived(b!, 10, 2)
  t.equal(release(gate, 10, [a!, b!]), 2, 'both in: the least span, 2')
  gate.arrived(a!, 11, 0)
  gate.arrived(b!, 11, 5)
  t.equal(release(gate, 11, [a!, b!]), 0, 'a carried nothing more: nothing')
})

t.test('a span is carried only beyond the hop\'s own catch-up: rounds the hop had not released leave in it once', async (t) => {
  const gate = new ArrivalGate<ArrivalSource>()
  const [a] = sources(1)
  gate.arm(60, [a!], () => true)
  gate.arrived(a!, 60, 6) // a caught up 6 rounds after a stall
  t.equal(gate.carried(60, 6), 0, 'this hop stalled over the same 6 rounds: its catch-up sends them, nothing more')
  gate.arm(61, [a!], () => true)
  gate.arrived(a!, 61, 5)
  t.equal(gate.carried(61, 2), 3, 'it missed 2 of the 5: the other 3 it had sent already (PADs) are carried again')
  gate.arm(62, [a!], () => true)
  gate.arrived(a!, 62, 4)
  t.equal(gate.carried(62), 4, 'on time, no stall of its own: the whole span')
})

t.test('a round that left before any of its owed writes is carried by the next release once they come', async (t) => {
  const gate = new ArrivalGate<ArrivalSource>()
  const [a] = sources(1)
  gate.arm(20, [a!], () => true)
  t.equal(release(gate, 20, [a!]), 0, 'round 20 leaves at its deadline, without a\'s write')
  gate.arrived(a!, 20, 1) // late, and it carries round 19 too
  gate.arrived(a!, 21, 0)
  t.equal(release(gate, 21, [a!]), 2, 'round 21 carries round 20 and the round 19 it carried')
  gate.arrived(a!, 22, 0)
  t.equal(release(gate, 22, [a!]), 0, 'carried once only')
})

t.test('a late run waits for every source, and drops a source\'s write that skipped the late round', async (t) => {
  const gate = new ArrivalGate<ArrivalSource>()
  const [a, b] = sources(2)
  gate.arm(30, [a!, b!], () => true)
  release(gate, 30, [a!, b!])
  gate.arrived(a!, 30, 0)
  t.equal(gate.carried(31), 0, 'b\'s late write of 30 has not come: nothing yet, a\'s alone would mark a\'s circuits')
  gate.arrived(b!, 30, 0)
  gate.arrived(a!, 31, 0)
  gate.arrived(b!, 31, 0)
  t.equal(release(gate, 31, [a!, b!]), 1, 'both came: round 30 is carried once')

  release(gate, 32, [a!, b!]) // 32 leaves without either write
  gate.arrived(a!, 33, 0) // a skipped 32 (a client that never catches up): its write of 33 does not cover it
  gate.arrived(b!, 32, 0)
  gate.arrived(b!, 33, 0)
  t.equal(release(gate, 33, [a!, b!]), 0, 'the run is dropped: carrying b\'s cells alone would mark them')
})

t.test('a round some sources wrote for in time is no late run (the entry\'s clients: one late client marks nothing)', async (t) => {
  const gate = new ArrivalGate<ArrivalSource>()
  const [a, b] = sources(2)
  gate.arm(40, [a!, b!], () => true)
  gate.arrived(a!, 40, 0)
  release(gate, 40, [a!, b!]) // at the deadline: b is late
  gate.arrived(b!, 40, 0)
  gate.arrived(a!, 41, 0)
  gate.arrived(b!, 41, 0)
  t.equal(release(gate, 41, [a!, b!]), 0, 'b\'s late cells wait in their queues; nothing is carried for the whole link')
})

t.test('a run is carried only by the release right after it', async (t) => {
  const gate = new ArrivalGate<ArrivalSource>()
  const [a] = sources(1)
  gate.arm(50, [a!], () => true)
  release(gate, 50, [a!])
  gate.arrived(a!, 50, 0)
  gate.arm(52, [a!], () => true) // this hop stalled: its next release is 52, not 51
  gate.arrived(a!, 52, 0)
  t.equal(gate.carried(52), 0, 'the run ended with 50, the release is 52: dropped (the catch-up covers 51)')
})

t.test('one source, any lateness within the budget, skips and spans: a hop carries on exactly the spans it received and the rounds that came late', async (t) => {
  // Each round the source writes in time, writes late (after the hop's release, before its
  // next), or skips (a stall: its next write's span covers the skipped rounds, as a hop's does).
  const action = fc.constantFrom('on time', 'late', 'skip')
  fc.assert(fc.property(fc.array(fc.tuple(action, fc.integer({ min: 0, max: 3 })), { minLength: 1, maxLength: 60 }), (plan) => {
    const gate = new ArrivalGate<ArrivalSource>()
    const all = sources(1)
    const a = all[0]!
    const first = 1000
    gate.arm(first, all, () => true)
    let skipped = 0
    let expected = 0
    let carried = 0
    let lates = 0
    for (let i = 0; i < plan.length; i++) {
      const round = first + i
      const [what, extra] = plan[i]!
      // No more than three rounds skipped in a row (a late run is at most MAX_LATE_ROUNDS long),
      // and no more late rounds than the budget's burst (the test below has the budget).
      const act = (what === 'skip' && skipped >= 3) || (what === 'late' && lates >= MAX_LATE_ROUNDS) ? 'on time' : what
      if (act === 'late') lates++
      const span = act === 'skip' ? 0 : skipped + extra
      if (act === 'on time') { gate.arrived(a, round, span); expected += span }
      carried += gate.carried(round)
      gate.arm(round + 1, all, () => true)
      if (act === 'late') { gate.arrived(a, round, span); expected += span + 1 }
      skipped = act === 'skip' ? skipped + 1 : 0
    }
    // One more round, written in time, to carry what the last one left.
    const end = first + plan.length
    gate.arrived(a, end, skipped)
    expected += skipped
    carried += gate.carried(end)
    return carried === expected
  }), { numRuns: 500 })
  t.pass('500 plans: carried = spans received + rounds that came late')
})

t.test('late rounds are carried again within a budget: a burst of MAX_LATE_ROUNDS, then one per LATE_CREDIT_ROUNDS rounds; spans always pass on', async (t) => {
  // A neighbour late every round (this hop's or its machine's load): each late round carried
  // again costs a round of every circuit's schedule, and unbounded that fed the load (a
  // download's client received 2.25 times its schedule at load 11).
  const gate = new ArrivalGate<ArrivalSource>()
  const all = sources(1)
  const a = all[0]!
  const first = 5000
  const rounds = 20 * LATE_CREDIT_ROUNDS
  gate.arm(first, all, () => true)
  let carried = 0
  for (let round = first; round < first + rounds; round++) {
    carried += gate.carried(round)
    gate.arm(round + 1, all, () => true)
    gate.arrived(a, round, 2) // late, each write carrying 2 rounds of its own
  }
  carried += gate.carried(first + rounds)
  const spans = 2 * rounds
  const again = carried - spans
  t.ok(again <= MAX_LATE_ROUNDS + rounds / LATE_CREDIT_ROUNDS + 1, `late rounds carried again: ${again} of ${rounds}, within the budget`)
  t.ok(again >= rounds / LATE_CREDIT_ROUNDS, `and the budget is spent (${again})`)
  t.equal(gate.lateOverBudget, rounds - again, 'the rest are counted as over the budget')

  // After a quiet spell the burst is back.
  const quiet = first + rounds + MAX_LATE_ROUNDS * LATE_CREDIT_ROUNDS
  gate.arrived(a, first + rounds, 0)
  for (let round = first + rounds + 1; round < quiet; round++) gate.arrived(a, round, 0)
  gate.arm(quiet, all, () => true)
  let burst = 0
  for (let round = quiet; round < quiet + MAX_LATE_ROUNDS; round++) {
    burst += gate.carried(round)
    gate.arm(round + 1, all, () => true)
    gate.arrived(a, round, 0)
  }
  burst += gate.carried(quiet + MAX_LATE_ROUNDS)
  t.equal(burst, MAX_LATE_ROUNDS, 'a burst of late rounds after a quiet spell is carried whole')
})
