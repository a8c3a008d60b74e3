/**
 * Loop accounting with a fake clock (issue #5 "Loops and accountability"): an honest
 * cascade's loop timings — every delay anywhere inside the bound loopDeadlineRounds assumes,
 * plus this process's timer lateness — raise no alarm over 10 minutes of simulated time; a
 * mix dropping 5 % of a client's forward cells is detected within 60 s (a dropped cell
 * desynchronises the circuit's layer counters, so the circuit's later loops never return),
 * as is a 5 % loss of the probes themselves; `alarmLimit` alarms fail the client closed.
 */
import t from 'tap'
import { LATE_ALARM_FACTOR, LOSS_MIN_MS, LoopMonitor } from '../../src/client/shaping/loop-monitor.js'
import { DEFAULT_SHAPING, loopDeadlineRounds, type ShapingParams } from '../../src/protocol/shaping.js'

const ROUND_MS = 10
const HOPS = 4

/** A small seeded PRNG (mulberry32): the simulation is the same on every run. */
function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

function monitorFor (params: ShapingParams, alarmLimit = 3): LoopMonitor {
  return new LoopMonitor({
    deadlineMs: loopDeadlineRounds(params, HOPS, false) * ROUND_MS,
    createDeadlineMs: loopDeadlineRounds(params, HOPS, true) * ROUND_MS,
    marginMs: 500,
    alarmLimit,
  })
}

/**
 * An honest RTT in rounds for the model behind loopDeadlineRounds: a wait for the client's
 * scheduled slot, one round per hop each way, a wait for a slot at every hop backward at the
 * lowest rate, the exit's jitter, and the CREATE hold at every hop for the first loop.
 */
function honestRttRounds (params: ShapingParams, random: () => number, withCreate: boolean): number {
  const slowest = params.ratesMilli[0]!
  const slotWait = Math.ceil(1000 / slowest)
  let rounds = 1 + 2 * HOPS + 1
  for (let i = 0; i < HOPS + 1; i++) rounds += Math.floor(random() * (slotWait + 1))
  rounds += Math.floor(random() * (params.loopJitterRounds + 1))
  if (withCreate) for (let i = 0; i < HOPS; i++) rounds += Math.floor(random() * (params.createHoldRounds + 1))
  return rounds
}

interface Sim {
  readonly monitor: LoopMonitor
  /** Simulated ms at which the first alarm was raised (undefined: none). */
  readonly firstAlarmMs: number | undefined
}

/**
 * Simulate `durationMs` of a client with K circuits and loopsPerSlot LOOPs per slot (each in
 * a random round, on a random circuit), circuits replaced on schedule with a LOOP on every
 * CREATE. `dropCell` decides per forward cell (rate: one per round per circuit) whether a
 * faulty mix drops it; a dropped cell kills the rest of the circuit. `dropProbe` drops a probe
 * by itself. Echoes arrive late by up to `timerLateMs` (this process's timers).
 */
function simulate (params: ShapingParams, durationMs: number, seed: number, faults: { dropCell?: number, dropProbe?: number } = {}): Sim {
  const random = prng(seed)
  const monitor = monitorFor(params)
  let firstAlarmMs: number | undefined
  let now = 0
  const echoes: Array<{ at: number, circuit: number, seq: number }> = []
  const circuits = Array.from({ length: params.circuits }, (_, i) => ({ id: i + 1, broken: false, endsMs: (i + 1) * params.slotMs * (params.circuitSlots / params.circuits) }))
  let nextId = params.circuits + 1
  const roundsPerSlot = params.slotMs / ROUND_MS
  let loopRounds: number[] = []
  const send = (circuit: { id: number, broken: boolean }, withCreate: boolean): void => {
    const seq = monitor.send(circuit.id, now, withCreate)
    if (circuit.broken || (faults.dropProbe !== undefined && random() < faults.dropProbe)) return
    const rtt = honestRttRounds(params, random, withCreate) * ROUND_MS + Math.floor(random() * 50)
    echoes.push({ at: now + rtt, circuit: circuit.id, seq })
  }
  for (let round = 0; now < durationMs; round++) {
    now = round * ROUND_MS
    if (round % roundsPerSlot === 0) {
      loopRounds = Array.from({ length: params.loopsPerSlot }, () => Math.floor(random() * roundsPerSlot)).sort((a, b) => a - b)
    }
    for (let i = 0; i < circuits.length; i++) {
      if (now >= circuits[i]!.endsMs) {
        monitor.forgetCircuit(circuits[i]!.id)
        circuits[i] = { id: nextId++, broken: false, endsMs: now + params.circuitSlots * params.slotMs }
        send(circuits[i]!, true)
      }
      if (faults.dropCell !== undefined && random() < faults.dropCell) circuits[i]!.broken = true
    }
    while (loopRounds.length > 0 && loopRounds[0]! <= round % roundsPerSlot) {
      loopRounds.shift()
      send(circuits[Math.floor(random() * circuits.length)]!, false)
    }
    for (let i = echoes.length - 1; i >= 0; i--) {
      const echo = echoes[i]!
      if (echo.at > now) continue
      echoes.splice(i, 1)
      monitor.echo(echo.circuit, echo.seq, now)
    }
    monitor.expire(now)
    if (firstAlarmMs === undefined && monitor.alarms > 0) firstAlarmMs = now
  }
  return { monitor, firstAlarmMs }
}

const strict = DEFAULT_SHAPING.strict
const elastic = DEFAULT_SHAPING.elastic
const TEN_MINUTES = 10 * 60_000

t.test('an honest cascade raises no alarm in 10 minutes of simulated time (strict and elastic defaults)', async (t) => {
  for (const [name, params] of [['strict', strict], ['elastic', elastic], ['elastic with CREATE hold', { ...elastic, kMin: 4, createHoldRounds: 50 }]] as const) {
    const { monitor } = simulate(params, TEN_MINUTES, 7)
    t.ok(monitor.sent > 500, `${name}: ${monitor.sent} loops sent`)
    t.equal(monitor.lost, 0, `${name}: none lost`)
    t.equal(monitor.late, 0, `${name}: none late`)
    t.equal(monitor.alarms, 0, `${name}: no alarm`)
    t.equal(monitor.failedClosed, false, `${name}: still open`)
  }
})

t.test('a mix dropping 5 % of forward cells is detected within 60 s of simulated time', async (t) => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const { firstAlarmMs, monitor } = simulate(strict, 60_000, seed, { dropCell: 0.05 })
    t.ok(firstAlarmMs !== undefined && firstAlarmMs <= 60_000, `seed ${seed}: alarm after ${firstAlarmMs} ms (${monitor.lost} loops lost)`)
  }
})

t.test('5 % loss of the probes themselves is detected within 60 s at 3 loops per second', async (t) => {
  const params = { ...strict, loopsPerSlot: 30 }
  for (const seed of [11, 12, 13]) {
    const { firstAlarmMs } = simulate(params, 60_000, seed, { dropProbe: 0.05 })
    t.ok(firstAlarmMs !== undefined && firstAlarmMs <= 60_000, `seed ${seed}: alarm after ${firstAlarmMs} ms`)
  }
})

t.test('alarmLimit alarms fail closed, once; one circuit raises one alarm', async (t) => {
  let failed = 0
  const alarms: string[] = []
  const monitor = new LoopMonitor({ deadlineMs: 100, createDeadlineMs: 200, marginMs: 0, alarmLimit: 2, onAlarm: (_c, kind) => alarms.push(kind), onFailClosed: () => failed++ })
  monitor.send(1, 0, false)
  monitor.send(1, 0, false)
  monitor.expire(LOSS_MIN_MS - 1)
  t.same(alarms, [], `past the deadline but within the loss timeout (${LOSS_MIN_MS} ms at least): not lost yet`)
  monitor.expire(LOSS_MIN_MS + 1)
  t.same(alarms, ['lost'], 'two lost probes on one circuit: one alarm')
  t.equal(monitor.lost, 2)
  t.equal(monitor.failedClosed, false)
  const onTime = monitor.send(2, 20_000, true)
  t.equal(monitor.echo(2, onTime, 20_150), 'ok', 'the CREATE loop has the longer deadline')
  const slightlyLate = monitor.send(2, 20_400, false)
  t.equal(monitor.echo(2, slightlyLate, 20_400 + LATE_ALARM_FACTOR * 100), 'late', `late, but within ${LATE_ALARM_FACTOR} deadlines`)
  t.same(alarms, ['lost'], 'a stall-sized lateness is counted, not alarmed')
  t.equal(monitor.late, 1)
  const veryLate = monitor.send(2, 21_000, false)
  t.equal(monitor.echo(2, veryLate, 21_000 + LATE_ALARM_FACTOR * 100 + 1), 'late')
  t.same(alarms, ['lost', 'late'], `more than ${LATE_ALARM_FACTOR} deadlines after sending: an alarm`)
  t.equal(monitor.failedClosed, true, 'the second alarm reaches the limit')
  t.equal(failed, 1)
  monitor.send(3, 22_000, false)
  monitor.expire(40_000)
  t.equal(failed, 1, 'failing closed is reported once')
  t.equal(monitor.echo(2, veryLate, 40_000), 'unknown', 'an echo twice is not counted again')
})

t.test('probes of a circuit that ended on schedule are forgotten, not lost', async (t) => {
  const monitor = monitorFor(strict)
  monitor.send(1, 0, false)
  monitor.forgetCircuit(1)
  monitor.expire(60_000)
  t.equal(monitor.lost, 0)
  t.equal(monitor.alarms, 0)
  t.equal(monitor.pending, 0)
})

t.test('RTT percentiles come from the echoes (NaN before any)', async (t) => {
  const monitor = monitorFor(strict)
  t.ok(Number.isNaN(monitor.rttQuantile(0.5)))
  for (let i = 1; i <= 100; i++) monitor.echo(1, monitor.send(1, 0, false), i)
  t.equal(monitor.rttQuantile(0.5), 50)
  t.equal(monitor.rttQuantile(0.99), 99)
})

t.test('a probe overdue when its circuit ends on schedule is lost; one still in time is forgotten', async (t) => {
  const monitor = new LoopMonitor({ deadlineMs: 100, createDeadlineMs: 200, marginMs: 0, alarmLimit: 5 })
  monitor.send(1, 0, false)
  monitor.send(2, 0, false)
  monitor.forgetCircuit(1, 101)
  t.equal(monitor.lost, 1, 'past its deadline: lost (a broken circuit often ends before the loss timeout)')
  t.equal(monitor.alarms, 1)
  monitor.forgetCircuit(2, 50)
  t.equal(monitor.lost, 1, 'within its deadline: forgotten')
  t.equal(monitor.pending, 0)
})

t.test('an echo later than its deadline without the margin is a sign of congestion, not an alarm', async (t) => {
  let slow = 0
  const params = DEFAULT_SHAPING.elastic
  const deadlineMs = loopDeadlineRounds(params, HOPS, false) * ROUND_MS
  const monitor = new LoopMonitor({
    deadlineMs,
    createDeadlineMs: loopDeadlineRounds(params, HOPS, true) * ROUND_MS,
    marginMs: 500,
    alarmLimit: 3,
    onSlowEcho: () => { slow++ },
  })
  const onTime = monitor.send(1, 0, false)
  t.equal(monitor.echo(1, onTime, deadlineMs), 'ok')
  t.equal(slow, 0, 'within the deadline: nothing')
  const late = monitor.send(1, 0, false)
  t.equal(monitor.echo(1, late, deadlineMs + 1), 'ok', 'within the margin: still on time')
  t.equal(slow, 1, 'but slow')
  t.equal(monitor.alarms, 0, 'no alarm')
  const withCreate = monitor.send(2, 0, true)
  t.equal(monitor.echo(2, withCreate, deadlineMs + 1), 'ok')
  t.equal(slow, 1, 'a LOOP sent with its CREATE has the longer deadline')
})
