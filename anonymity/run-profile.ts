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
import { performance } from 'node:perf_hooks'
import type { ShapingProfile } from '../src/protocol/shaping.js'
import { mulberry32 } from './correlate.js'
import { labRoundMs, labShaping, type LabShapingOptions } from './lab-shaping.js'
import type { HopLayout } from './hop-host.js'
import type { HopStats } from './lab-hop.js'
import { startLab } from './lab.js'
import { watchEventLoop, type LoopDelay } from './loop-delay.js'
import { costs, runAttack, type AttackResult, type Costs } from './measure.js'
import { startWorkload, WORKLOADS, type Workload, type WorkloadRun } from './workloads.js'

export interface ProfileRunOptions {
  readonly profile: ShapingProfile
  readonly clients: number
  readonly seconds: number
  readonly seed: number
  /** Round length and shaping in place of the shipped defaults (lab-shaping.ts). */
  readonly shaping?: LabShapingOptions
  readonly cellSize?: number
  /** The attack's slot in ms (default 2 rounds). */
  readonly attackSlotMs?: number
  /** Lags each way, in attack slots (default 2). */
  readonly maxLag?: number
  readonly bulkScale?: number
  /** Where the hops run (default `process`: a child process each; see hop-host.ts). */
  readonly hops?: HopLayout
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
  readonly hops: HopLayout
  /**
   * How late the lab process's event loop ran during the window (ms): the clients, the relays
   * and origins (the observer) and the apps share it. When p99 nears a round, scheduled cells
   * leave late or rounds are lost, and the run measures an overloaded machine, not the profile.
   */
  readonly eventLoopDelayMs: LoopDelay
  /** The same for each hop's process, entry first (zeros when the hops run inline). */
  readonly hopEventLoopDelayMs: LoopDelay[]
  readonly missedRounds: MissedRounds
  /** Rounds were missed, or the lab's event loop ran half a round late at p99: read the row with care. */
  readonly overloaded: boolean
}

/**
 * Rounds skipped during the window because a node's process was a whole round or more late
 * for them. A client skips such a round (its frames of that round never leave); a shaped hop
 * skips it on its clock and sends its cells with the next round it runs (a catch-up burst).
 * Either is visible on the wire, and is the machine's doing, not the profile's.
 */
export interface MissedRounds {
  /** Rounds in the window (each node runs one per round). */
  readonly rounds: number
  /** Per client: its shaping clock's skipped rounds (0 under `off`: those clients have no clock). */
  readonly clients: number[]
  readonly clientsTotal: number
  /** Per hop, entry first. */
  readonly hops: number[]
  readonly hopsTotal: number
  /** Per hop: cells dropped because their circuit queue was at its bound (a neighbour far beyond its schedule). */
  readonly hopsDroppedOverQueue: number[]
}

/** Other attack settings tried: [slot in rounds, lags each way]; up to a whole shaping slot. */
const VARIANTS: ReadonlyArray<readonly [number, number]> = [[1, 4], [2, 1], [3, 1], [5, 1], [10, 1], [25, 1], [50, 1]]

/** VARIANTS, and a whole shaping slot when its slots are longer than 50 rounds. */
function variantsFor (roundsPerSlot: number): ReadonlyArray<readonly [number, number]> {
  return VARIANTS.some(([rounds]) => rounds >= roundsPerSlot) ? VARIANTS : [...VARIANTS, [roundsPerSlot, 1]]
}

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

function missedIn (clientsBefore: number[], clientsAfter: number[], hopsBefore: HopStats[], hopsAfter: HopStats[]): MissedRounds {
  const clients = clientsAfter.map((n, i) => n - clientsBefore[i]!)
  const hops = hopsAfter.map((h, i) => h.missedRounds - hopsBefore[i]!.missedRounds)
  // The entry's clock runs every round it does not miss.
  const rounds = hopsAfter[0]!.rounds - hopsBefore[0]!.rounds + hops[0]!
  const sum = (list: number[]): number => list.reduce((a, b) => a + b, 0)
  const hopsDroppedOverQueue = hopsAfter.map((h, i) => h.droppedOverQueue - hopsBefore[i]!.droppedOverQueue)
  return { rounds, clients, clientsTotal: sum(clients), hops, hopsTotal: sum(hops), hopsDroppedOverQueue }
}

export async function runProfile (options: ProfileRunOptions): Promise<ProfileResult> {
  const log = options.log ?? (() => {})
  const roundMs = labRoundMs(options.shaping)
  const cellSize = options.cellSize ?? 2048
  const attackSlotMs = options.attackSlotMs ?? 2 * roundMs
  const maxLag = options.maxLag ?? 2
  const shaping = labShaping(options.profile, options.shaping)
  const random = mulberry32(options.seed)
  const kinds = dealWorkloads(options.clients, random)

  const hops = options.hops ?? 'process'
  log(`${options.profile}: starting the cascade (hops: ${hops}) and ${options.clients} clients`)
  const lab = await startLab({ clients: options.clients, shaping, roundMs, cellSize, now: observerNow, hops })
  const runs: WorkloadRun[] = []
  try {
    await sleep(options.profile === 'off' ? 500 : 2 * shaping.slotMs)
    const loopDelay = watchEventLoop()
    const clientsBefore = lab.clientMissedRounds()
    const hopsBefore = await lab.hopStats(true)
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
    loopDelay.stop()
    const hopsAfter = await lab.hopStats(false)
    const eventLoopDelayMs = loopDelay.read()
    const missedRounds = missedIn(clientsBefore, lab.clientMissedRounds(), hopsBefore, hopsAfter)
    const overloaded = missedRounds.clientsTotal + missedRounds.hopsTotal > 0 || eventLoopDelayMs.p99 > roundMs / 2
    if (overloaded) log(`${options.profile}: warning: ${missedRounds.clientsTotal} client rounds and ${missedRounds.hopsTotal} hop rounds missed in ${missedRounds.rounds} rounds, lab event loop p99 ${eventLoopDelayMs.p99.toFixed(1)} ms against ${roundMs} ms rounds: the machine is overloaded, fewer clients measure the profile better`)
    const window = { startMs, endMs }
    const links = lab.clients.map((c) => ({ up: c.relay.up, down: c.relay.down }))
    const flows = lab.clients.flatMap((c) => c.origin.flows).filter((f) => f.startMs >= startMs && f.startMs < endMs)
    const attack = runAttack(links, flows, kinds, window, { slotMs: attackSlotMs, maxLag, seed: options.seed, roundMs })
    const variants = variantsFor(Math.round(shaping.slotMs / roundMs)).map(([rounds, lag]) => ({
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
      // Link bytes per cell: batch headers and tags (34 bytes per batch) count as cells' bytes.
      costs: costs(links, flows, window, cellSize),
      app,
      windowMs: endMs - startMs,
      hops,
      eventLoopDelayMs,
      hopEventLoopDelayMs: hopsAfter.map((h) => h.eventLoopDelayMs),
      missedRounds,
      overloaded,
    }
  } finally {
    await Promise.all(runs.map((run) => run.stop()))
    await lab.stop()
  }
}
