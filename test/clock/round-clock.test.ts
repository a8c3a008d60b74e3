/**
 * The round clock (R17) under a fake monotonic clock and fake timers: deadlines are absolute
 * (jitter and slow rounds never accumulate), rounds late by a period or more are skipped and
 * counted instead of run in a burst, early timers are re-armed, and stop() stops. One short
 * real-time run checks the wiring to Node's timers (counts and order only).
 */
import t from 'tap'
import fc from 'fast-check'
import { RoundClock, wallRoundClock, type RoundTimers, type WallTimers } from '../../src/clock/round-clock.js'

const MS = 1_000_000n

/**
 * A simulated process: `now` only moves forward; a timer armed for d ms actually fires at
 * now + d ms + lateness(), which may be negative (an early timer) or huge (a stalled process).
 */
class FakeProcess implements RoundTimers {
  now = 1_000n * MS // an arbitrary non-zero origin
  private pending = new Map<number, { at: bigint, callback: () => void }>()
  private ids = 0
  lateness: () => bigint = () => 0n

  readonly clock = (): bigint => this.now

  setTimeout (callback: () => void, delayMs: number): unknown {
    const id = ++this.ids
    let at = this.now + BigInt(delayMs) * MS + this.lateness()
    if (at < this.now) at = this.now
    this.pending.set(id, { at, callback })
    return id
  }

  clearTimeout (handle: unknown): void {
    this.pending.delete(handle as number)
  }

  get timersPending (): number {
    return this.pending.size
  }

  /** Fire due timers in order until `until`, then set the time to `until`. */
  runUntil (until: bigint): void {
    for (;;) {
      let nextId = -1
      let nextAt = until + 1n
      for (const [id, timer] of this.pending) {
        if (timer.at < nextAt) {
          nextAt = timer.at
          nextId = id
        }
      }
      if (nextId < 0) break
      const timer = this.pending.get(nextId)!
      this.pending.delete(nextId)
      if (timer.at > this.now) this.now = timer.at
      timer.callback()
    }
    if (until > this.now) this.now = until
  }
}

/** mulberry32, for reproducible jitter. */
function seeded (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32
  }
}

interface Tick { round: number, at: bigint }

function clockOn (fake: FakeProcess, periodMs: number, onTick?: (tick: Tick) => void): { clock: RoundClock, ticks: Tick[] } {
  const ticks: Tick[] = []
  const clock = new RoundClock({
    periodMs,
    now: fake.clock,
    timers: fake,
    onRound: (round) => {
      const tick = { round, at: fake.now }
      ticks.push(tick)
      onTick?.(tick)
    },
  })
  return { clock, ticks }
}

t.test('deadlines are absolute: 1000 jittery rounds with slow callbacks do not drift', async (t) => {
  const fake = new FakeProcess()
  const random = seeded(42)
  // timers fire up to 0.9 ms early or 4 ms late; each round takes up to 3 ms
  fake.lateness = () => BigInt(Math.round((random() * 4.9 - 0.9) * 1e6))
  const period = 10n * MS
  const { clock, ticks } = clockOn(fake, 10, () => { fake.now += BigInt(Math.round(random() * 3e6)) })
  const start = fake.now
  clock.start()
  fake.runUntil(start + 1000n * period + 5n * MS)
  clock.stop()

  t.equal(ticks.length, 1000, 'exactly one round per elapsed period')
  t.equal(clock.missedRounds, 0, 'none missed: no round was a whole period late')
  t.ok(ticks.every((tick, i) => tick.round === i + 1), 'rounds 1…1000 in order')
  const outside = ticks.filter((tick) => tick.at < start + BigInt(tick.round) * period ||
    tick.at >= start + BigInt(tick.round + 1) * period)
  t.equal(outside.length, 0, 'every round k ran in [start + k·period, start + (k+1)·period)')
  const last = ticks[ticks.length - 1]!
  t.ok(last.at - (start + 1000n * period) < 5n * MS, 'the 1000th round was no later than one timer jitter')

  // The same process driving a plain setTimeout(period) chain falls behind by every delay.
  const chainStart = fake.now
  let chained = 0
  const step = (): void => {
    chained++
    fake.now += BigInt(Math.round(random() * 3e6))
    fake.setTimeout(step, 10)
  }
  fake.setTimeout(step, 10)
  fake.runUntil(chainStart + 1000n * period + 5n * MS)
  t.ok(chained < 900, `a setTimeout chain ran only ${chained} rounds in the same time`)
})

t.test('a timer that fires early is re-armed, not run before its deadline', async (t) => {
  const fake = new FakeProcess()
  let early = true
  fake.lateness = () => { const l = early ? -3n * MS : 0n; early = false; return l }
  const { clock, ticks } = clockOn(fake, 10)
  const start = fake.now
  clock.start()
  fake.runUntil(start + 10n * MS - 1n)
  t.equal(ticks.length, 0, 'nothing ran 3 ms early')
  fake.runUntil(start + 10n * MS)
  t.same(ticks, [{ round: 1, at: start + 10n * MS }], 'round 1 ran at its deadline')
  clock.stop()
})

t.test('a stall of several periods skips the overdue rounds and counts them, no burst', async (t) => {
  const fake = new FakeProcess()
  const period = 10n * MS
  // round 5 blocks the process for 3.5 periods
  const { clock, ticks } = clockOn(fake, 10, (tick) => { if (tick.round === 5) fake.now += 35n * MS })
  const start = fake.now
  clock.start()
  fake.runUntil(start + 12n * period + 1n)
  clock.stop()
  t.same(ticks.map((tick) => tick.round), [1, 2, 3, 4, 5, 8, 9, 10, 11, 12], 'rounds 6 and 7 were skipped')
  t.equal(clock.missedRounds, 2)
  t.equal(clock.roundsRun, 10)
  t.equal(ticks[5]!.at, start + 85n * MS, 'round 8 (half a period overdue) ran once, as soon as the stall ended')
  t.equal(ticks[6]!.at, start + 9n * period, 'round 9 ran at its own deadline')
})

t.test('a round exactly one period late is skipped, so two rounds never run back to back', async (t) => {
  const fake = new FakeProcess()
  let n = 0
  fake.lateness = () => (++n === 3 ? 10n * MS : 0n) // the timer for round 3 fires at deadline 4
  const { clock, ticks } = clockOn(fake, 10)
  const start = fake.now
  clock.start()
  fake.runUntil(start + 5n * 10n * MS)
  clock.stop()
  t.same(ticks.map((tick) => tick.round), [1, 2, 4, 5])
  t.equal(clock.missedRounds, 1)
})

t.test('under random stalls every round runs inside its own period and runs + missed = last round', async (t) => {
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 50 }),
    fc.array(fc.integer({ min: 0, max: 200 }), { minLength: 1, maxLength: 100 }),
    fc.integer(),
    (periodMs, stallsMs, seed) => {
      const fake = new FakeProcess()
      const random = seeded(seed)
      fake.lateness = () => BigInt(Math.round(random() * random() * 3 * periodMs * 1e6))
      let i = 0
      const { clock, ticks } = clockOn(fake, periodMs, () => { fake.now += BigInt(stallsMs[i++ % stallsMs.length]!) * MS / 10n })
      const period = BigInt(periodMs) * MS
      const start = fake.now
      clock.start()
      fake.runUntil(start + 200n * period)
      clock.stop()
      let previous = 0
      for (const tick of ticks) {
        if (tick.round <= previous) throw new Error('rounds out of order')
        previous = tick.round
        const due = start + BigInt(tick.round) * period
        if (tick.at < due || tick.at >= due + period) throw new Error(`round ${tick.round} ran outside its period`)
      }
      if (clock.roundsRun + clock.missedRounds !== previous) throw new Error('a deadline was neither run nor counted')
    },
  ), { numRuns: 100 })
  t.pass('100 random stall patterns')
})

t.test('stop() stops, also from inside onRound, and the clock can start again', async (t) => {
  const fake = new FakeProcess()
  const { clock, ticks } = clockOn(fake, 10)
  clock.start()
  t.throws(() => clock.start(), { code: 'MIX_CLOCK_RUNNING' })
  fake.runUntil(fake.now + 35n * MS)
  clock.stop()
  t.equal(ticks.length, 3)
  t.equal(fake.timersPending, 0, 'no timer left armed')
  fake.runUntil(fake.now + 100n * MS)
  t.equal(ticks.length, 3, 'no rounds after stop()')

  const inside = clockOn(fake, 10, (tick) => { if (tick.round === 2) inside.clock.stop() })
  inside.clock.start()
  fake.runUntil(fake.now + 100n * MS)
  t.same(inside.ticks.map((tick) => tick.round), [1, 2], 'stopped from round 2')
  t.equal(fake.timersPending, 0)

  const restartAt = fake.now
  clock.start()
  fake.runUntil(restartAt + 10n * MS)
  t.same(ticks[3], { round: 1, at: restartAt + 10n * MS }, 'a restart counts from its own start')
  clock.stop()
})

t.test('a throwing onRound does not stop the clock', async (t) => {
  const fake = new FakeProcess()
  const { clock, ticks } = clockOn(fake, 10, (tick) => { if (tick.round === 1) throw new Error('boom') })
  clock.start()
  t.throws(() => fake.runUntil(fake.now + 10n * MS), /boom/)
  fake.runUntil(fake.now + 20n * MS)
  t.same(ticks.map((tick) => tick.round), [1, 2, 3])
  clock.stop()
})

t.test('bad periods throw MixError', async (t) => {
  for (const periodMs of [0, 0.5, -10, NaN, Infinity]) {
    t.throws(() => new RoundClock({ periodMs, onRound: () => {} }), { code: 'MIX_BAD_OPTION' }, `periodMs ${periodMs}`)
  }
})

t.test('with real timers the clock ticks in increasing order and stops', async (t) => {
  const rounds: number[] = []
  let clock: RoundClock
  await new Promise<void>((resolve) => {
    clock = new RoundClock({
      periodMs: 5,
      onRound: (round) => {
        rounds.push(round)
        if (rounds.length === 5) {
          clock.stop()
          resolve()
        }
      },
    })
    t.teardown(() => clock.stop())
    clock.start()
  })
  t.equal(rounds.length, 5)
  t.ok(rounds.every((round, i) => i === 0 || round > rounds[i - 1]!), `increasing: ${rounds.join(' ')}`)
  t.equal(clock!.roundsRun, 5)
  t.notOk(clock!.isRunning)
  await new Promise((resolve) => setTimeout(resolve, 30))
  t.equal(rounds.length, 5, 'no round after stop()')
})

t.test('aligned to a wall clock: round n is due at n·period of wall time and numbered n', async (t) => {
  const fake = new FakeProcess()
  // The wall clock runs alongside the monotonic one, 123 456 789.25 ms ahead of it.
  const wallAt = (ns: bigint): number => Number(ns) / 1e6 + 123_456_789.25
  const ticks: { round: number, wall: number }[] = []
  const clock = new RoundClock({
    periodMs: 10,
    now: fake.clock,
    timers: fake,
    wallClock: () => wallAt(fake.now),
    onRound: (round) => { ticks.push({ round, wall: wallAt(fake.now) }) },
  })
  clock.start()
  const startWall = wallAt(fake.now)
  fake.runUntil(fake.now + 50n * MS)
  clock.stop()
  t.equal(ticks.length, 5, 'one round per period')
  t.equal(ticks[0]!.round, Math.floor(startWall / 10) + 1, 'the first round is the next wall-clock multiple')
  t.ok(ticks.every((tick, i) => tick.round === ticks[0]!.round + i), 'numbered consecutively')
  // Timers are whole milliseconds: a deadline between two is met at the next one.
  t.ok(ticks.every((tick) => tick.wall >= tick.round * 10 && tick.wall < tick.round * 10 + 1), 'each ran at round·period of wall time (timer granularity aside)')
})

t.test('a phase moves every aligned deadline by the same offset: round n is due at n·period + offset', async (t) => {
  const fake = new FakeProcess()
  const wallAt = (ns: bigint): number => Number(ns) / 1e6 + 123_456_789.25
  const ticks: { round: number, wall: number }[] = []
  const clock = new RoundClock({
    periodMs: 10,
    offsetMs: 3.75,
    now: fake.clock,
    timers: fake,
    wallClock: () => wallAt(fake.now),
    onRound: (round) => { ticks.push({ round, wall: wallAt(fake.now) }) },
  })
  clock.start()
  fake.runUntil(fake.now + 50n * MS)
  clock.stop()
  t.equal(ticks.length, 5, 'one round per period')
  t.ok(ticks.every((tick, i) => tick.round === ticks[0]!.round + i), 'numbered consecutively')
  t.ok(ticks.every((tick) => tick.wall >= tick.round * 10 + 3.75 && tick.wall < tick.round * 10 + 3.75 + 1), 'each ran at round·period + offset of wall time (timer granularity aside)')
  t.throws(() => new RoundClock({ periodMs: 10, offsetMs: 10, onRound: () => {}, wallClock: Date.now }), { code: 'MIX_BAD_OPTION' }, 'an offset of a whole period is refused')
  t.throws(() => new RoundClock({ periodMs: 10, offsetMs: -1, onRound: () => {}, wallClock: Date.now }), { code: 'MIX_BAD_OPTION' })
})

t.test('the shaped client\'s clock on one fake wall time: round n at n·period, a stall skipped and counted', async (t) => {
  const clock = { ms: 1_000_003 }
  let armed: (() => void) | undefined
  const rounds: number[] = []
  const timers: WallTimers = {
    now: () => clock.ms,
    setTimeout: (fire) => { armed = fire; return 1 },
    clearTimeout: () => { armed = undefined },
  }
  const c = wallRoundClock(10, (n) => rounds.push(n), timers)
  c.start()
  t.throws(() => { c.start() }, { code: 'MIX_CLOCK_RUNNING' }, 'not twice')
  clock.ms = 1_000_010
  armed!()
  t.same(rounds, [100_001], 'the first round is the next multiple of the period')
  clock.ms = 1_000_015
  armed!()
  t.same(rounds, [100_001], 'an early wake-up runs nothing')
  clock.ms = 1_000_047
  armed!()
  t.same(rounds, [100_001, 100_004], 'after a stall only the latest due round runs')
  t.equal(c.missedRounds, 2, 'the skipped rounds are counted')
  c.stop()
  t.equal(armed, undefined, 'stop clears the timer')
})
