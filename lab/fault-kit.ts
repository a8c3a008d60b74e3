/**
 * What every lab fault is made of (faults.ts, faults-more.ts): the row it is reduced to, the
 * transfers it counts, the probe that times a recovery, and the nodes' own account of it (warn
 * and error lines, and the counters of /metrics that say what the client and the hops did).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startNetnsCascade, type Fetched, type NetnsCascade, type NetnsCascadeOptions } from './netns-cascade.js'

export const SMALL = 64 * 1024
export const LARGE = 1024 * 1024
export const SIZES = [SMALL, LARGE, 4 * LARGE]

export interface FaultRow {
  readonly fault: string
  readonly setting: string
  readonly transfers: { readonly intact: number, readonly failed: number, readonly corrupt: number }
  /** The row's figure: a name, a value and its unit; undefined when it could not be measured. */
  readonly figure: { readonly name: string, readonly value: number | undefined, readonly unit: string }
  readonly notes: string
  /** Warn and error events the nodes logged during the row, `node: event` with a count. */
  readonly logged: Record<string, number>
  /** Counters of COUNTERS that are not 0 at the row's end, `node: metric{labels}`: what a log line per interval would not show. */
  readonly counters: Record<string, number>
  /** The recovery probes (untilWorks): when each started after the probing began, how it ended. */
  readonly probes: string[]
  readonly error?: string
}

/**
 * The /metrics counters that tell a recovery's story: the client's retries, timeouts and
 * alarms; the hops' accepted and refused CREATEs (rate, auth) and failed authentications; the
 * links each side lost. Client-side events such as `stream.retried` are logged only as a count
 * per minute (R19), too late for most rows, so the counters are read instead.
 */
const COUNTERS = /^(?<name>mixgate_(streams_(retried|timed_out)|alarms|loop_incidents|fail_closed|fail_closed_recoveries|creates_(accepted|refused)|authentication_failures|successor_(failures|connects)|links_(closed|failed)|circuits_(built|silent))_total)(?<labels>\{[^}]*\})? (?<value>[0-9.e+]+)$/


export const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

export class Tally {
  intact = 0
  failed = 0
  corrupt = 0
  readonly probes: string[] = []
  add (got: Fetched): Fetched {
    if (got.intact) this.intact++
    else if (got.corrupt) this.corrupt++
    else this.failed++
    return got
  }

  get counts (): FaultRow['transfers'] { return { intact: this.intact, failed: this.failed, corrupt: this.corrupt } }
}

/** A transfer and when it started (performance.now()). */
export type Timed = Fetched & { readonly startedAt: number }

/**
 * `count` downloads of `size`, `concurrency` at a time; `onStart(i)` runs before the i-th
 * starts; `isolation(i)`, if given, is its SOCKS user name (a new name: a new circuit).
 */
export async function transfers (lab: NetnsCascade, tally: Tally, count: number, size: number, concurrency: number,
  onStart: (i: number) => Promise<void> = async () => {}, isolation?: (i: number) => string): Promise<Timed[]> {
  const results: Timed[] = []
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++
      await onStart(i)
      const startedAt = performance.now()
      results.push({ ...tally.add(await lab.fetch(size, 60, isolation?.(i))), startedAt })
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return results
}

/** Probe with small downloads until one is intact: ms from now, or undefined past `boundMs`. */
export async function untilWorks (lab: NetnsCascade, tally: Tally, boundMs: number): Promise<number | undefined> {
  const started = performance.now()
  while (performance.now() - started < boundMs) {
    const at = performance.now() - started
    const got = tally.add(await lab.fetch(SMALL, 10))
    tally.probes.push(`+${(at / 1000).toFixed(1)} s: ${got.intact ? 'intact' : 'failed'} in ${(got.ms / 1000).toFixed(1)} s${got.error === undefined ? '' : ` (${got.error})`}`)
    if (got.intact) return performance.now() - started
    await sleep(250)
  }
  return undefined
}

export const median = (values: number[]): number | undefined => {
  if (values.length === 0) return undefined
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

const nodeNames = (lab: NetnsCascade): string[] => ['client', ...Array.from({ length: lab.hops }, (_, i) => i + 1 === lab.hops ? 'exit' : `mix${i + 1}`)]

/** Every node's COUNTERS that are not 0 (a node that does not answer is left out). */
export async function readCounters (lab: NetnsCascade): Promise<Record<string, number>> {
  const into: Record<string, number> = {}
  for (const [index, name] of nodeNames(lab).entries()) {
    const text = await lab.metrics(index).catch(() => '')
    for (const line of text.split('\n')) {
      const match = COUNTERS.exec(line)
      if (match?.groups === undefined || Number(match.groups.value) === 0) continue
      into[`${name}: ${match.groups.name}${match.groups.labels ?? ''}`] = Number(match.groups.value)
    }
  }
  return into
}

/** Warn and error events in a node log, counted by event name. */
function loggedEvents (lab: NetnsCascade, into: Record<string, number>): void {
  nodeNames(lab).forEach((name, index) => {
    for (const match of lab.log(index).matchAll(/ (warn|error) \S+ ([a-z_.]+)/g)) {
      const key = `${name}: ${match[1]} ${match[2]}`
      into[key] = (into[key] ?? 0) + 1
    }
  })
}

export interface FaultContext {
  readonly mixes: number
  /** Where to write each row's node logs (`<row number>-<node>.log`), if anywhere. */
  readonly logsDir?: string
  /** Progress lines. */
  readonly say: (line: string) => void
}

export type Body = (lab: NetnsCascade, tally: Tally) => Promise<{ figure: FaultRow['figure'], notes: string }>

export interface Fault {
  readonly fault: string
  readonly setting: string
  readonly cascade: Partial<NetnsCascadeOptions>
  readonly body: Body
}

let rowsLogged = 0

export async function runFault (context: FaultContext, fault: Fault): Promise<FaultRow> {
  const tally = new Tally()
  const logged: Record<string, number> = {}
  context.say(`${fault.fault}: ${fault.setting}`)
  let lab: NetnsCascade | undefined
  try {
    lab = await startNetnsCascade({ mixes: context.mixes, shaping: 'off', sizes: SIZES, link: { delayMs: 30, jitterMs: 5 }, ...fault.cascade })
    const { figure, notes } = await fault.body(lab, tally)
    loggedEvents(lab, logged)
    return { fault: fault.fault, setting: fault.setting, transfers: tally.counts, figure, notes, logged, counters: await readCounters(lab), probes: tally.probes }
  } catch (err) {
    if (lab !== undefined) loggedEvents(lab, logged)
    const counters = lab === undefined ? {} : await readCounters(lab)
    return { fault: fault.fault, setting: fault.setting, transfers: tally.counts, figure: { name: '', value: undefined, unit: '' }, notes: '', logged, counters, probes: tally.probes, error: (err as Error).message.split('\n')[0]! }
  } finally {
    if (lab !== undefined && context.logsDir !== undefined) {
      mkdirSync(context.logsDir, { recursive: true })
      const row = String(++rowsLogged).padStart(2, '0')
      for (const [index, name] of nodeNames(lab).entries()) writeFileSync(join(context.logsDir, `${row}-${name}.log`), lab.log(index))
    }
    await lab?.stop()
  }
}

