/**
 * One profile's measurement: start the lab with that shaping, let the k users work for a
 * while under the observer's eyes, stop everything, and run the attack on what was recorded.
 *
 * Workloads are dealt round-robin over a seeded shuffle of the clients, so every kind is
 * present (k ≥ 4) and which client does what changes with the seed, not with the index. Each
 * user starts after a random delay of up to a second. Shaped profiles get a warm-up of two
 * slots before the window opens, so that every client has its circuits and its cover is
 * running; the window then closes a second after the users stop, to let queues drain.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { FRAME_OVERHEAD } from '../src/link/index.js'
import type { ShapingProfile } from '../src/protocol/shaping.js'
import { mulberry32 } from './correlate.js'
import { labShaping, LAB_ROUND_MS } from './lab-shaping.js'
import { startLab } from './lab.js'
import { costs, runAttack, type AttackResult, type Costs } from './measure.js'
import { startWorkload, WORKLOADS, type Workload, type WorkloadRun } from './workloads.js'

export interface ProfileRunOptions {
  readonly profile: ShapingProfile
  readonly clients: number
  readonly seconds: number
  readonly seed: number
  readonly roundMs?: number
  readonly cellSize?: number
  /** The attack's slot in ms (default 2 rounds). */
  readonly attackSlotMs?: number
  /** Lags each way, in attack slots (default 2). */
  readonly maxLag?: number
  readonly bulkScale?: number
  /**
   * Keep the users working past `seconds` until this many flows were seen, up to
   * `maxSeconds` in all (default: no extension): on a loaded machine a shaped cascade
   * carries fewer flows, and too few guesses make the accuracy a coin toss.
   */
  readonly minFlows?: number
  readonly maxSeconds?: number
  readonly log?: (line: string) => void
}

export interface ProfileResult {
  readonly profile: ShapingProfile
  readonly clients: number
  readonly seconds: number
  readonly seed: number
  readonly roundMs: number
  readonly shaping: ReturnType<typeof labShaping>
  readonly attackSlotMs: number
  readonly maxLag: number
  readonly kinds: Workload[]
  readonly attack: AttackResult
  /**
   * The same attack with other slot lengths and lags (VARIANTS). The best of them is chosen
   * with the ground truth in hand, so it is an upper bound for an attacker who tunes, not
   * an attack anyone could run as is.
   */
  readonly variants: Array<{ slotMs: number, maxLag: number, accuracy: number }>
  readonly bestVariant: { slotMs: number, maxLag: number, accuracy: number }
  readonly costs: Costs
  readonly app: { requests: number, failures: number, receivedBytes: number, sentBytes: number }
  readonly windowMs: number
  /**
   * How late this process's event loop ran during the window (ms). Every node and client of
   * the lab shares it: when p99 nears a round, scheduled cells leave late or rounds are lost,
   * and the run measures an overloaded machine rather than the profile.
   */
  readonly eventLoopDelayMs: { p50: number, p99: number, max: number }
}

/** Other attack settings tried: [slot in rounds, lags each way]; up to a whole shaping slot. */
const VARIANTS: ReadonlyArray<readonly [number, number]> = [[1, 4], [2, 1], [3, 1], [5, 1], [10, 1], [25, 1], [50, 1]]

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/** The observer's clock: Unix ms with sub-ms resolution, comparable with the round schedule. */
export const observerNow = (): number => performance.timeOrigin + performance.now()

/** Workloads for k clients: round-robin over a seeded shuffle of the client indices. */
export function dealWorkloads (clients: number, random: () => number): Workload[] {
  const order = Array.from({ length: clients }, (_, i) => i)
  for (let i = clients - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    const tmp = order[i]!; order[i] = order[j]!; order[j] = tmp
  }
  const kinds = new Array<Workload>(clients)
  order.forEach((client, n) => { kinds[client] = WORKLOADS[n % WORKLOADS.length]! })
  return kinds
}

export async function runProfile (options: ProfileRunOptions): Promise<ProfileResult> {
  const log = options.log ?? (() => {})
  const roundMs = options.roundMs ?? LAB_ROUND_MS
  const cellSize = options.cellSize ?? 2048
  const attackSlotMs = options.attackSlotMs ?? 2 * roundMs
  const maxLag = options.maxLag ?? 2
  const shaping = labShaping(options.profile, { roundMs })
  const random = mulberry32(options.seed)
  const kinds = dealWorkloads(options.clients, random)

  log(`${options.profile}: starting the cascade and ${options.clients} clients`)
  const lab = await startLab({ clients: options.clients, shaping, roundMs, cellSize, now: observerNow })
  const runs: WorkloadRun[] = []
  try {
    await sleep(options.profile === 'off' ? 500 : 2 * shaping.slotMs)
    const loopDelay = monitorEventLoopDelay({ resolution: 5 })
    loopDelay.enable()
    const startMs = observerNow()
    log(`${options.profile}: ${options.seconds} s of traffic`)
    for (const c of lab.clients) {
      runs.push(startWorkload(kinds[c.index]!, {
        socksPort: c.socksPort,
        originPort: c.origin.port,
        random: mulberry32(Math.floor(random() * 2 ** 32)),
        startDelayMs: Math.floor(random() * 1000),
        ...(options.bulkScale === undefined ? {} : { bulkScale: options.bulkScale }),
      }))
    }
    await sleep(options.seconds * 1000)
    const flowsSoFar = (): number => lab.clients.reduce((n, c) => n + c.origin.flows.filter((f) => f.startMs >= startMs).length, 0)
    const until = startMs + (options.maxSeconds ?? options.seconds) * 1000
    while (flowsSoFar() < (options.minFlows ?? 0) && observerNow() < until) await sleep(250)
    await Promise.all(runs.map((run) => run.stop()))
    await sleep(1000)
    const endMs = observerNow()
    lab.stopRecording()
    loopDelay.disable()
    const eventLoopDelayMs = { p50: loopDelay.percentile(50) / 1e6, p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 }
    if (eventLoopDelayMs.p99 > roundMs / 2) log(`${options.profile}: warning: event loop p99 delay ${eventLoopDelayMs.p99.toFixed(1)} ms against ${roundMs} ms rounds: the machine is overloaded, fewer clients measure the profile better`)
    const window = { startMs, endMs }
    const links = lab.clients.map((c) => ({ up: c.relay.up, down: c.relay.down }))
    const flows = lab.clients.flatMap((c) => c.origin.flows).filter((f) => f.startMs >= startMs && f.startMs < endMs)
    const attack = runAttack(links, flows, kinds, window, { slotMs: attackSlotMs, maxLag, seed: options.seed, roundMs })
    const variants = VARIANTS.map(([rounds, lag]) => ({
      slotMs: rounds * roundMs,
      maxLag: lag,
      accuracy: runAttack(links, flows, kinds, window, { slotMs: rounds * roundMs, maxLag: lag, seed: options.seed, roundMs }).accuracy,
    }))
    const bestVariant = variants.reduce((best, v) => v.accuracy > best.accuracy ? v : best, { slotMs: attackSlotMs, maxLag, accuracy: attack.accuracy })
    const app = runs.reduce((sum, run) => ({
      requests: sum.requests + run.counters.requests,
      failures: sum.failures + run.counters.failures,
      receivedBytes: sum.receivedBytes + run.counters.received,
      sentBytes: sum.sentBytes + run.counters.sent,
    }), { requests: 0, failures: 0, receivedBytes: 0, sentBytes: 0 })
    return {
      profile: options.profile,
      clients: options.clients,
      seconds: options.seconds,
      seed: options.seed,
      roundMs,
      shaping,
      attackSlotMs,
      maxLag,
      kinds,
      attack,
      variants,
      bestVariant,
      costs: costs(links, flows, window, cellSize + FRAME_OVERHEAD),
      app,
      windowMs: endMs - startMs,
      eventLoopDelayMs,
    }
  } finally {
    await Promise.all(runs.map((run) => run.stop()))
    await lab.stop()
  }
}
