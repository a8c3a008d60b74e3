/**
 * The held-streams phase of a profile run (issue #17): N SOCKS5 CONNECTs of one isolation key
 * through a cascade, held open at once against an echo server in its own process
 * (holder-child.ts), each checked for reply 0x00 and an echoed byte. Reports how many were
 * served and held at once, and the RSS growth per held stream of each side: the cascade (its
 * processes together: `up`'s one, or one per node), the holder (the hosts' side) and this
 * bench process (the apps' side). RSS is read from /proc before the streams open and a moment
 * after the last is answered.
 *
 * The phase always ends, and says why (`stopReason`, in the line and the JSON): all were
 * asked; or 2 × inFlight in a row were not served (past a bound each further request would
 * only wait for its timeout); or the profile's capacity for one key was held (shaped: K
 * circuits of stream-bound.ts's bound); or a shaped circuit's life passed (10 minutes: every
 * stream held longer has been cut by its circuit's end, so more time measures churn, not what
 * is held at once). A shaped key beyond its circuits' room otherwise kept the phase going:
 * each creation slot's new circuit served a few waiting requests, so failures never came
 * 2 × inFlight in a row, while the circuit it replaced cut as many held streams.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { DEFAULT_SHAPING, type ShapingProfile } from '../src/protocol/shaping.js'
import { clientStreamsPerCircuit } from '../src/protocol/stream-bound.js'
import { startChild } from './child-process.js'
import { openHeldStreams, type HeldStopReason, type HeldStreamsResult } from './held-streams.js'

export interface HeldStreamsPhase extends HeldStreamsResult {
  /** Requests unanswered at once while opening. */
  readonly inFlight: number
  /** Streams of one key the profile's client holds at most (undefined: no bound of its own, `off`). */
  readonly capacity: number | undefined
  /** The phase's time cap, seconds. */
  readonly timeCapS: number
  /** How the cascade ran: `up` (one process) or `separate` (a process per node). */
  readonly layout: CascadeLayout
  /** RSS growth per held stream, KiB, of each side (NaN when none was held); `cascade` sums its processes. */
  readonly kibPerStream: { readonly cascade: number, readonly holder: number, readonly bench: number }
  /** The cascade's processes together. */
  readonly cascadeRssMiB: { readonly before: number, readonly after: number }
}

/** `up`: the whole cascade in one process; `separate`: a process per node, as on separate hosts. */
export type CascadeLayout = 'up' | 'separate'

export interface HeldStreamsOptions {
  readonly root: string
  readonly profile: ShapingProfile
  readonly socksPort: number
  readonly layout: CascadeLayout
  /** The cascade's processes (`up`'s one, or every node's). */
  readonly cascadePids: readonly number[]
  readonly count: number
  readonly inFlight: number
}

/** VmRSS of a process in bytes (0 if it is gone). */
export function rssBytes (pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match === null ? 0 : Number(match[1]) * 1024
  } catch {
    return 0
  }
}

const MiB = 2 ** 20
/** Let the streams' last cells and timers settle before RSS is read. */
const SETTLE_MS = 2000

/**
 * Streams of one key a shaped client holds at most: K circuits of stream-bound.ts's bound.
 * Unshaped, new circuits come on demand (up to maxCircuits × 256); the doors' cap from the
 * open-file limit binds first, and answers 0x01 at once, so failures in a row end the phase.
 */
export function heldCapacity (profile: ShapingProfile): number | undefined {
  return profile === 'off' ? undefined : DEFAULT_SHAPING[profile].circuits * clientStreamsPerCircuit(profile)
}

/** The phase's time cap: a shaped circuit's life (circuitSlots × slotMs, 10 minutes). */
export const HELD_TIME_CAP_MS = DEFAULT_SHAPING.elastic.circuitSlots * DEFAULT_SHAPING.elastic.slotMs

/** Why the phase stopped asking, for the log line. */
const STOP_REASONS: Readonly<Record<HeldStopReason, (r: HeldStreamsPhase) => string>> = {
  'all-asked': () => 'all asked',
  'failures-in-a-row': (r) => `${2 * r.inFlight} in a row not served`,
  capacity: (r) => `the profile's ${String(r.capacity)} streams of one key held`,
  'time-cap': (r) => `time cap ${r.timeCapS.toFixed(0)} s`,
}

export async function measureHeldStreams (o: HeldStreamsOptions): Promise<HeldStreamsPhase> {
  const holder = await startChild({ script: join(o.root, 'dist/bench/holder-child.js'), args: [], ready: /^holder: \d+$/ })
  try {
    const targetPort = Number(/\d+$/.exec(holder.readyLine)![0])
    const cascadeRss = (): number => o.cascadePids.reduce((sum, pid) => sum + rssBytes(pid), 0)
    const before = { cascade: cascadeRss(), holder: rssBytes(holder.pid), bench: process.memoryUsage.rss() }
    const capacity = heldCapacity(o.profile)
    const held = await openHeldStreams({
      socksPort: o.socksPort,
      targetPort,
      count: o.count,
      inFlight: o.inFlight,
      giveUpAfter: 2 * o.inFlight,
      ...(capacity === undefined ? {} : { capacity }),
      timeCapMs: HELD_TIME_CAP_MS,
    })
    try {
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS))
      const after = { cascade: cascadeRss(), holder: rssBytes(holder.pid), bench: process.memoryUsage.rss() }
      const n = held.result.held
      const per = (what: 'cascade' | 'holder' | 'bench'): number => n === 0 ? NaN : (after[what] - before[what]) / n / 1024
      return {
        ...held.result,
        inFlight: o.inFlight,
        capacity,
        timeCapS: HELD_TIME_CAP_MS / 1000,
        layout: o.layout,
        kibPerStream: { cascade: per('cascade'), holder: per('holder'), bench: per('bench') },
        cascadeRssMiB: { before: before.cascade / MiB, after: after.cascade / MiB },
      }
    } finally {
      held.close()
    }
  } finally {
    await holder.stop()
  }
}

/** One line for the log. */
export function describeHeldStreams (r: HeldStreamsPhase): string {
  const refused = Object.entries(r.replies).map(([rep, n]) => `${n} × 0x${Number(rep).toString(16).padStart(2, '0')}`).join(', ')
  return `${r.held} of ${r.requested} streams held at once (${r.served} served${r.cut > 0 ? `, ${r.cut} of them cut` : ''}${refused === '' ? '' : `, ${refused}`}` +
    `${r.lost > 0 ? `, ${r.lost} lost` : ''}${r.abandoned > 0 ? `, ${r.abandoned} abandoned` : ''}${r.skipped > 0 ? `, ${r.skipped} not asked` : ''}) in ${r.seconds.toFixed(1)} s, stopped: ${STOP_REASONS[r.stopReason](r)}; ` +
    `RSS per stream: ${r.layout === 'up' ? 'up' : 'the nodes\' processes'} ${r.kibPerStream.cascade.toFixed(1)} KiB (${r.cascadeRssMiB.before.toFixed(0)} → ${r.cascadeRssMiB.after.toFixed(0)} MiB), holder ${r.kibPerStream.holder.toFixed(1)} KiB, bench ${r.kibPerStream.bench.toFixed(1)} KiB`
}
