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
import { setTimeout as sleep } from 'node:timers/promises'
import { rssBytes } from './held-streams-phase.js'
import { memoryMap, type MemoryMap } from '../lab/smaps.js'

export interface UpMemory {
  /** VmRSS of the `up` process (every thread), 10^6 bytes, `idleS` after it was ready. */
  readonly idleMB: number
  readonly idleS: number
  /** VmRSS `settleS` after the run's last stream closed, 10^6 bytes. */
  readonly afterMB: number
  readonly settleS: number
  /** afterMB / idleMB: 1.10 is the "within 10 % of idle". */
  readonly afterToIdle: number
  /** Where the RSS was at each reading, by kind of mapping (lab/smaps.ts: V8's heaps, malloc's, files). */
  readonly kinds?: { readonly idle: MemoryMap, readonly after: MemoryMap }
}

/** How long the bench lets `up` idle and settle: shorter in a quick run. */
export function memoryWaits (quick: boolean): { readonly idleS: number, readonly settleS: number } {
  return quick ? { idleS: 10, settleS: 10 } : { idleS: 20, settleS: 30 }
}

/** Waits `idleS` and reads the idle RSS; returns the function that waits `settleS` and completes the figures. */
export async function measureIdle (pid: number, waits: { readonly idleS: number, readonly settleS: number }): Promise<() => Promise<UpMemory>> {
  await sleep(waits.idleS * 1000)
  const idle = rssBytes(pid)
  const idleKinds = kindsOf(pid)
  return async () => {
    await sleep(waits.settleS * 1000)
    const after = rssBytes(pid)
    const afterKinds = kindsOf(pid)
    return { ...upMemory(idle, after, waits), ...(idleKinds === undefined || afterKinds === undefined ? {} : { kinds: { idle: idleKinds, after: afterKinds } }) }
  }
}

/** The process's memory by kind, or undefined if /proc would not say (the process is gone). */
function kindsOf (pid: number): MemoryMap | undefined {
  try {
    return memoryMap(pid)
  } catch {
    return undefined
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
  const kinds = m.kinds === undefined ? '' : `; MiB idle → after: V8 heaps ${change(m.kinds, (k) => k.v8MiB)}, malloc and the rest ${change(m.kinds, native)}, files ${change(m.kinds, (k) => k.fileMiB)}`
  return `up RSS: ${m.idleMB.toFixed(1)} MB idle (after ${m.idleS} s), ${m.afterMB.toFixed(1)} MB ${m.settleS} s after the last stream closed (${m.afterToIdle.toFixed(2)}× idle)${kinds}`
}

/** Everything but V8's heap pages and mapped files: malloc's (glibc's arenas or jemalloc's mappings), thread stacks, V8's large objects. */
function native (k: MemoryMap): number {
  return k.arenasMiB + k.brkMiB + k.otherMiB
}

function change (kinds: { idle: MemoryMap, after: MemoryMap }, of: (k: MemoryMap) => number): string {
  return `${of(kinds.idle).toFixed(0)} → ${of(kinds.after).toFixed(0)}`
}
