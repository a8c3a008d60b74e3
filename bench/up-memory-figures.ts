/**
 * `up`'s memory in a profile run (issue #17): its RSS idle, before any traffic, and again once
 * everything the run did through it (downloads, streams on separate circuits, the page loads,
 * the held streams) has ended and settled. The issue asks for an idle `up` of at most 100 MB
 * and memory that comes back to within 10 % of idle after the streams close.
 *
 * Idle is read `idleS` after `up` printed its ready line, not at once: in the first seconds
 * V8 still compiles the hot code, and the shaped profiles' cover has not yet reached its
 * steady rate. "After" is read `settleS` after the last stream closed, so that timers, the
 * streams' last cells and the garbage collector have run; what is still above idle then is
 * kept, not in flight (docs/BENCH.md "Memory of `mixgate up`").
 */
import { rssBytes } from './held-streams-phase.js'

export interface UpMemory {
  /** VmRSS of the `up` process (every thread), 10^6 bytes, `idleS` after it was ready. */
  readonly idleMB: number
  readonly idleS: number
  /** VmRSS `settleS` after the run's last stream closed, 10^6 bytes. */
  readonly afterMB: number
  readonly settleS: number
  /** afterMB / idleMB: 1.10 is the "within 10 % of idle". */
  readonly afterToIdle: number
}

/** How long the bench lets `up` idle and settle: shorter in a quick run. */
export function memoryWaits (quick: boolean): { readonly idleS: number, readonly settleS: number } {
  return quick ? { idleS: 10, settleS: 10 } : { idleS: 20, settleS: 30 }
}

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/** Waits `idleS` and reads the idle RSS; returns the function that waits `settleS` and completes the figures. */
export async function measureIdle (pid: number, waits: { readonly idleS: number, readonly settleS: number }): Promise<() => Promise<UpMemory>> {
  await sleep(waits.idleS * 1000)
  const idle = rssBytes(pid)
  return async () => {
    await sleep(waits.settleS * 1000)
    return upMemory(idle, rssBytes(pid), waits)
  }
}

/** The figures from the two readings, in bytes. */
export function upMemory (idleBytes: number, afterBytes: number, waits: { readonly idleS: number, readonly settleS: number }): UpMemory {
  return {
    idleMB: idleBytes / 1e6,
    idleS: waits.idleS,
    afterMB: afterBytes / 1e6,
    settleS: waits.settleS,
    afterToIdle: idleBytes === 0 ? NaN : afterBytes / idleBytes,
  }
}

/** One line for the log. */
export function describeUpMemory (m: UpMemory): string {
  return `up RSS: ${m.idleMB.toFixed(1)} MB idle (after ${m.idleS} s), ${m.afterMB.toFixed(1)} MB ${m.settleS} s after the last stream closed (${m.afterToIdle.toFixed(2)}× idle)`
}
