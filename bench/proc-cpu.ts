/**
 * CPU time of processes, for "CPU seconds per GB over every process involved": the bench's
 * own (process.cpuUsage, all threads) and a child's from /proc/PID/stat (utime + stime of the
 * whole thread group, worker threads included), plus its descendants', should a launcher
 * ever fork. Linux only; clock ticks are usually 10 ms, far below the phases measured.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'

let ticksPerSecond: number | undefined

function clockTicks (): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
    } catch {
      ticksPerSecond = 100
    }
  }
  return ticksPerSecond
}

/** utime + stime of one process in seconds, or 0 if it is gone. */
function ownCpuSeconds (pid: number): number {
  let stat: string
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return 0
  }
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // fields[0] is field 3 (state), so utime (14) and stime (15) are fields[11] and fields[12].
  return (Number(fields[11]) + Number(fields[12])) / clockTicks()
}

function childrenOf (pid: number): number[] {
  const out: number[] = []
  let tasks: string[]
  try {
    tasks = readdirSync(`/proc/${pid}/task`)
  } catch {
    return out
  }
  for (const task of tasks) {
    try {
      for (const child of readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/)) {
        if (child !== '') out.push(Number(child))
      }
    } catch {
      // the thread ended meanwhile
    }
  }
  return out
}

/** CPU seconds of `pid` and every live descendant. */
export function processTreeCpuSeconds (pid: number): number {
  let total = ownCpuSeconds(pid)
  for (const child of childrenOf(pid)) total += processTreeCpuSeconds(child)
  return total
}

/** CPU seconds of this process (all threads). */
export function selfCpuSeconds (): number {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1e6
}

/** A CPU meter over this process and, optionally, one child tree. */
export class CpuMeter {
  private readonly childPid: number | undefined
  private selfStart = 0
  private childStart = 0

  constructor (childPid?: number) {
    this.childPid = childPid
    this.start()
  }

  start (): void {
    this.selfStart = selfCpuSeconds()
    this.childStart = this.childPid === undefined ? 0 : processTreeCpuSeconds(this.childPid)
  }

  /** CPU seconds since start(): this process, the child, and both. */
  read (): { self: number, child: number, total: number } {
    const self = selfCpuSeconds() - this.selfStart
    const child = this.childPid === undefined ? 0 : processTreeCpuSeconds(this.childPid) - this.childStart
    return { self, child, total: self + child }
  }
}
