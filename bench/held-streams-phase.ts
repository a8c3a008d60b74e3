/**
 * The held-streams phase of a profile run (issue #17): N SOCKS5 CONNECTs of one isolation key
 * through `up`, held open at once against an echo server in its own process (holder-child.ts),
 * each checked for reply 0x00 and an echoed byte. Reports how many were served and held at
 * once, and the RSS growth per held stream of each process: `up` (the whole cascade), the
 * holder (the hosts' side) and this bench process (the apps' side). RSS is read from /proc
 * before the streams open and a moment after the last is answered.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { startChild } from './child-process.js'
import { openHeldStreams, type HeldStreamsResult } from './held-streams.js'

export interface HeldStreamsPhase extends HeldStreamsResult {
  /** Requests unanswered at once while opening. */
  readonly inFlight: number
  /** RSS growth per held stream, KiB, of each process (NaN when none was held). */
  readonly kibPerStream: { readonly up: number, readonly holder: number, readonly bench: number }
  readonly upRssMiB: { readonly before: number, readonly after: number }
}

export interface HeldStreamsOptions {
  readonly root: string
  readonly socksPort: number
  readonly upPid: number
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

export async function measureHeldStreams (o: HeldStreamsOptions): Promise<HeldStreamsPhase> {
  const holder = await startChild({ script: join(o.root, 'dist/bench/holder-child.js'), args: [], ready: /^holder: \d+$/ })
  try {
    const targetPort = Number(/\d+$/.exec(holder.readyLine)![0])
    const before = { up: rssBytes(o.upPid), holder: rssBytes(holder.pid), bench: process.memoryUsage.rss() }
    // Past a bound (the open-file limit; shaped, K circuits of 500), each further request
    // would wait for its timeout: stop asking once a burst's worth failed in a row.
    const held = await openHeldStreams({ socksPort: o.socksPort, targetPort, count: o.count, inFlight: o.inFlight, giveUpAfter: 2 * o.inFlight })
    try {
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS))
      const after = { up: rssBytes(o.upPid), holder: rssBytes(holder.pid), bench: process.memoryUsage.rss() }
      const n = held.result.held
      const per = (what: 'up' | 'holder' | 'bench'): number => n === 0 ? NaN : (after[what] - before[what]) / n / 1024
      return {
        ...held.result,
        inFlight: o.inFlight,
        kibPerStream: { up: per('up'), holder: per('holder'), bench: per('bench') },
        upRssMiB: { before: before.up / MiB, after: after.up / MiB },
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
  return `${r.held} of ${r.requested} streams held at once (${r.served} served${refused === '' ? '' : `, ${refused}`}${r.lost > 0 ? `, ${r.lost} lost` : ''}${r.skipped > 0 ? `, ${r.skipped} not asked after ${2 * r.inFlight} failures in a row` : ''}) in ${r.seconds.toFixed(1)} s; ` +
    `RSS per stream: up ${r.kibPerStream.up.toFixed(1)} KiB (${r.upRssMiB.before.toFixed(0)} → ${r.upRssMiB.after.toFixed(0)} MiB), holder ${r.kibPerStream.holder.toFixed(1)} KiB, bench ${r.kibPerStream.bench.toFixed(1)} KiB`
}
