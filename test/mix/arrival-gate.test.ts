/**
 * The arrival gate (src/hop/arrival-gate.ts, PROTOCOL.md §12.1): a round is ready once every
 * source that owes it a write has sent it; a round nobody owes is never ready (it waits for
 * the deadline); a source that sent ahead counts as arrived; a late write never makes a
 * later round ready; a source that leaves owes nothing.
 */
import t from 'tap'
import fc from 'fast-check'
import { ArrivalGate, newArrivalSource, type ArrivalSource } from '../../src/hop/arrival-gate.js'

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
