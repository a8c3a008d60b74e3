/**
 * Issues #14 and #17: the rule by which loop alarms close a shaped client to new streams and
 * its probes open it again (src/client/shaping/fail-closed-gate.ts through loop-monitor.ts).
 * Pure: the monitor is driven with a fake loop time. Deadline 100 ms, no margin, so a probe is
 * lost LOSS_MIN_MS after it was sent.
 */
import t from 'tap'
import { LOSS_MIN_MS, LoopMonitor, type LoopMonitorOptions } from '../../src/client/shaping/loop-monitor.js'
import type { FailClosedEpisode } from '../../src/client/shaping/fail-closed-gate.js'

const HOLD_MS = 30_000
const MAX_HOLD_MS = 120_000
const ECHOES = 8

interface Watched {
  readonly monitor: LoopMonitor
  readonly episodes: FailClosedEpisode[]
  readonly recoveries: number[]
}

function watched (over: Partial<LoopMonitorOptions> = {}): Watched {
  const episodes: FailClosedEpisode[] = []
  const recoveries: number[] = []
  const monitor = new LoopMonitor({
    deadlineMs: 100,
    createDeadlineMs: 200,
    marginMs: 0,
    alarmLimit: 3,
    recoveryEchoes: ECHOES,
    failClosed: { holdMs: HOLD_MS, maxHoldMs: MAX_HOLD_MS },
    onFailClosed: (episode) => episodes.push(episode),
    onRecovered: (closedMs) => recoveries.push(closedMs),
    ...over,
  })
  return { monitor, episodes, recoveries }
}

/**
 * A silence of the whole cascade from `atMs`: one probe on each of `circuits` is sent and never
 * comes back. Returns when the losses were seen.
 */
function silence (monitor: LoopMonitor, circuits: readonly number[], atMs: number): number {
  for (const c of circuits) monitor.send(c, atMs, false)
  const seenMs = atMs + LOSS_MIN_MS + 1
  monitor.expire(seenMs)
  return seenMs
}

/** `count` probes on `circuit` from `fromMs`, each back 50 ms after it left; returns the time after. */
function onTime (monitor: LoopMonitor, circuit: number, fromMs: number, count: number, everyMs = 100): number {
  let now = fromMs
  for (let i = 0; i < count; i++) {
    monitor.echo(circuit, monitor.send(circuit, now, false), now + 50)
    now += everyMs
  }
  return now
}

/** Circuit IDs not used before (a circuit alarms once). */
let nextCircuit = 100

/** Three separate silences of two fresh circuits each (each noticed before the next probe left): closed. Returns when. */
function threeIncidents (monitor: LoopMonitor, fromMs = 0): number {
  let now = fromMs
  for (let i = 0; i < 3; i++) now = silence(monitor, [nextCircuit++, nextCircuit++], now) + 1
  return now - 1
}

t.test('one silence of every circuit is one incident, however many circuits had a probe out', async (t) => {
  const { monitor, episodes } = watched()
  silence(monitor, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], 0)
  t.equal(monitor.alarms, 12, 'every circuit alarms (and is logged and counted)')
  t.equal(monitor.gate.incidents, 1, 'but its probes were all in the cascade when the first loss was seen')
  t.equal(monitor.failedClosed, false, 'one incident is below alarmLimit (3)')
  t.same(episodes, [])
})

t.test('a probe sent after an incident was noticed starts a new one; alarmLimit incidents close the client', async (t) => {
  const { monitor, episodes } = watched()
  const closedAt = threeIncidents(monitor)
  t.equal(monitor.gate.incidents, 3)
  t.equal(monitor.failedClosed, true)
  t.same(episodes, [{ episode: 1, counted: 3, holdMs: HOLD_MS }], 'reported once, with its hold')
  t.equal(monitor.gate.holdMs, HOLD_MS)
  silence(monitor, [50], closedAt + 1)
  t.equal(episodes.length, 1, 'a fourth incident while closed is no new episode')
})

t.test('incidents older than alarmWindowMs no longer count', async (t) => {
  const { monitor } = watched({ failClosed: { alarmWindowMs: 60_000 } })
  silence(monitor, [1], 0)
  silence(monitor, [2], 30_000)
  const now = silence(monitor, [3], 70_000)
  t.equal(monitor.gate.incidents, 3)
  t.equal(monitor.failedClosed, false, 'the first fell out of the window before the third')
  silence(monitor, [4], now + 1)
  t.equal(monitor.failedClosed, true, 'three within the window')
})

t.test('failed closed, it re-opens only after the hold with on-time echoes in a row and nothing overdue', async (t) => {
  const { monitor, recoveries } = watched()
  const closedAt = threeIncidents(monitor)
  // Echoes on time at once: too soon.
  let now = onTime(monitor, 1, closedAt + 1, ECHOES * 2)
  t.equal(monitor.failedClosed, true, 'on time, but within the hold after the last alarm')
  now = onTime(monitor, 1, closedAt + HOLD_MS, 1)
  t.equal(monitor.failedClosed, false, 'the hold passed and the last echoes were on time: open again')
  t.equal(recoveries.length, 1)
  t.ok(recoveries[0]! >= HOLD_MS && recoveries[0]! < HOLD_MS + 1000, `closed ${recoveries[0]} ms`)
  t.equal(monitor.gate.recoveries, 1)
  t.equal(monitor.gate.holdMs, 0, 'no hold while open')
  t.ok(now > closedAt)
})

t.test('fewer on-time echoes than asked keep it closed, whatever the time', async (t) => {
  const { monitor } = watched()
  const closedAt = threeIncidents(monitor)
  onTime(monitor, 1, closedAt + HOLD_MS, ECHOES - 1)
  t.equal(monitor.failedClosed, true, `${ECHOES - 1} of ${ECHOES}`)
  monitor.expire(closedAt + 10 * HOLD_MS)
  t.equal(monitor.failedClosed, true, 'time alone never re-opens it: no probe came back')
  onTime(monitor, 1, closedAt + 10 * HOLD_MS, 1)
  t.equal(monitor.failedClosed, false)
})

t.test('a late echo starts the streak again; an overdue probe holds the re-test; an alarm restarts the hold', async (t) => {
  const { monitor } = watched()
  const closedAt = threeIncidents(monitor)
  let now = onTime(monitor, 1, closedAt + 1, ECHOES - 1)
  const late = monitor.send(1, now, false)
  t.equal(monitor.echo(1, late, now + 150), 'late', 'late, below the alarm bound')
  now = onTime(monitor, 1, closedAt + HOLD_MS, ECHOES - 1)
  t.equal(monitor.failedClosed, true, 'the late echo broke the streak')
  // A probe past its deadline, not yet lost: no verdict while it may still be.
  monitor.send(2, now, false)
  now = onTime(monitor, 1, now + 200, 1)
  t.equal(monitor.failedClosed, true, 'a probe of a circuit not under alarm is overdue')
  // It is lost: an alarm, and the hold starts again from it.
  const lostAt = now + LOSS_MIN_MS
  monitor.expire(lostAt)
  t.equal(monitor.alarms, 7)
  now = onTime(monitor, 1, lostAt + 1, ECHOES)
  t.equal(monitor.failedClosed, true, 'within the hold after the new alarm')
  onTime(monitor, 1, lostAt + HOLD_MS, 1)
  t.equal(monitor.failedClosed, false)
})

t.test('circuits under alarm say nothing more: their echoes do not count, their losses do not hold it', async (t) => {
  const { monitor } = watched()
  const broken = nextCircuit
  const closedAt = threeIncidents(monitor)
  // `broken` is under alarm (the first incident): its probes are lost, as on a broken circuit.
  monitor.send(broken, closedAt + 1, false)
  let now = onTime(monitor, broken, closedAt + HOLD_MS, ECHOES)
  t.equal(monitor.failedClosed, true, 'on-time echoes of a circuit under alarm are no evidence')
  now = onTime(monitor, 1, now, ECHOES)
  t.equal(monitor.failedClosed, false, 'those of a sound circuit are; the broken one\'s lost probe is not an alarm again')
})

t.test('an entry that keeps dropping keeps the client closed', async (t) => {
  // Each new circuit it breaks: one probe lost, then its echoes never come. Fresh circuits, one a second.
  const { monitor, recoveries } = watched()
  let now = threeIncidents(monitor)
  for (let c = 1; c <= 600; c++) {
    monitor.send(c, now, false)
    // One sound echo on a circuit the attacker has not reached yet.
    onTime(monitor, 10_000 + c, now + 1, 1)
    now += 1000
    monitor.expire(now)
  }
  t.equal(monitor.failedClosed, true, 'ten minutes on: still closed')
  t.same(recoveries, [])
})

t.test('episodes in a row double the hold up to recoveryHoldMaxMs; a long open spell forgets them', async (t) => {
  const { monitor, episodes } = watched()
  let now = 0
  const holds: number[] = []
  for (let i = 0; i < 4; i++) {
    now = threeIncidents(monitor, now + 1)
    holds.push(monitor.gate.holdMs)
    now = onTime(monitor, 1, now + monitor.gate.holdMs, ECHOES)
    t.equal(monitor.failedClosed, false, `episode ${i + 1} ended`)
  }
  t.same(holds, [HOLD_MS, 2 * HOLD_MS, 4 * HOLD_MS, MAX_HOLD_MS], 'doubling, capped')
  t.same(episodes.map((e) => e.episode), [1, 2, 3, 4])
  now = threeIncidents(monitor, now + MAX_HOLD_MS)
  t.equal(monitor.gate.holdMs, HOLD_MS, 'open for a whole cap: the next episode is a first one again')
})

t.test('failClosed untilRestart: every alarm counts, forever, and it never re-opens', async (t) => {
  const { monitor, episodes, recoveries } = watched({ failClosed: { mode: 'untilRestart', alarmWindowMs: 1000 } })
  silence(monitor, [1, 2, 3], 0)
  t.equal(monitor.gate.incidents, 3, 'no grouping: three alarms')
  t.equal(monitor.failedClosed, true, 'one silence of three circuits closes it, as before issue #14')
  t.same(episodes, [{ episode: 1, counted: 3, holdMs: Infinity }])
  onTime(monitor, 4, 10 * 3_600_000, 1000)
  t.equal(monitor.failedClosed, true, 'a thousand on-time echoes ten hours on: still closed')
  t.same(recoveries, [])

  const slow = watched({ failClosed: { mode: 'untilRestart', alarmWindowMs: 1000 } })
  silence(slow.monitor, [1], 0)
  silence(slow.monitor, [2], 3_600_000)
  silence(slow.monitor, [3], 7_200_000)
  t.equal(slow.monitor.failedClosed, true, 'alarms hours apart still add up: no window')
})
