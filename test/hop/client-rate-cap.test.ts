/**
 * The entry's check of the client rate (src/hop/client-rate-cap.ts, PROTOCOL.md §12.3 "Client
 * rate"): one client link's circuits together run at no more than twice the signed client rate
 * above the wake rung. Honest clients (at most 1×) are never touched; a client asking the top
 * rung on every circuit is cut, highest rung first, to the tolerated rate; the wake rung is free.
 */
import t from 'tap'
import { capClientRate, CLIENT_RATE_TOLERANCE } from '../../src/hop/client-rate-cap.js'
import { RungSchedule } from '../../src/hop/rung-schedule.js'
import { DEFAULT_SHAPING, MILLI, WAKE_RUNG } from '../../src/protocol/shaping.js'

const LADDER = DEFAULT_SHAPING.elastic.ratesMilli
const LIMIT = DEFAULT_SHAPING.elastic.clientRateMilli
const SR = 200
const TOP = LADDER.length - 1

/** Circuits whose requests in slot 0 ask `rungs` for slot 1. */
function link (rungs: number[]): RungSchedule[] {
  return rungs.map((rung) => {
    const schedule = new RungSchedule(SR, LADDER.length, 0, 2)
    schedule.request(rung, 10, 1)
    return schedule
  })
}

const sum = (schedules: RungSchedule[], round: number): number =>
  schedules.reduce((total, s) => total + (s.rungAt(round) > WAKE_RUNG ? LADDER[s.rungAt(round)]! : 0), 0)

t.test('an honest client (the client rate or less) is never cut', async (t) => {
  const schedules = link([TOP, 1, 1, 1, 0, 0])
  t.equal(capClientRate(schedules, 1, LADDER, LIMIT, []), 0)
  t.same(schedules.map((s) => s.rungAt(SR + 5)), [TOP, 1, 1, 1, 0, 0])
})

t.test('the top rung on twelve circuits is cut to twice the client rate, the highest first', async (t) => {
  const schedules = link(Array.from({ length: 12 }, () => TOP))
  const cut = capClientRate(schedules, 1, LADDER, LIMIT, [])
  t.ok(cut > 0, `${cut} rung steps cut`)
  const total = sum(schedules, SR + 5)
  t.ok(total <= CLIENT_RATE_TOLERANCE * LIMIT, `${total / MILLI} cells a round, at most ${CLIENT_RATE_TOLERANCE * LIMIT / MILLI}`)
  const rungs = schedules.map((s) => s.rungAt(SR + 5))
  t.ok(Math.max(...rungs) - Math.min(...rungs) <= 1, `shared out evenly (${rungs.join(', ')})`)
  // Each slot is capped at its first release (shaped-rounds.ts): the next one again.
  t.ok(capClientRate(schedules, 2, LADDER, LIMIT, []) > 0, 'the next slot is cut again')
  t.same(schedules.map((s) => s.rungAt(2 * SR + 5)), rungs, 'to the same rungs')
})

t.test('wakes and the wake rung cost nothing and are never cut', async (t) => {
  const schedules = link(Array.from({ length: 40 }, () => WAKE_RUNG))
  t.equal(capClientRate(schedules, 1, LADDER, LIMIT, []), 0)
  t.ok(schedules.every((s) => s.rungAt(SR + 1) === WAKE_RUNG))
})

t.test('a cap only lowers, and a slot already capped keeps the lower cap', async (t) => {
  const s = link([TOP])[0]!
  s.cap(1, 3)
  s.cap(1, 5)
  t.equal(s.rungAt(SR + 1), 3)
  s.cap(0, 1) // an older slot than the last capped: ignored
  t.equal(s.rungAt(SR + 1), 3)
})
