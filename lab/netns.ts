/**
 * The lab's network: one namespace per host and a "wire" namespace in the middle, joined by
 * veth pairs, addressed in 10.77.0.0/16, which exists only inside these namespaces.
 *
 *   host k (k = 0 client, 1…n mixes, n+1 exit)       wire
 *   ┌──────────────────────┐                ┌───────────────────────────┐
 *   │ eth0 10.77.k.2/24    │── veth pair ──│ hk 10.77.k.1/24           │
 *   │ default via 10.77.k.1│                │ link shaper on 10.77.k.1  │
 *   └──────────────────────┘                └───────────────────────────┘
 *
 * The wire namespace does not forward packets: a host reaches another only through a process
 * listening in the wire namespace (the link shaper), which is what lets a userspace shaper
 * add delay where the kernel has no netem. Taking hk down cuts host k off, silently, as a
 * failed link or a partition does (no reset reaches either side).
 *
 * Names: `mgl-<pid>-<host>`, so a run's namespaces are told from another run's; a namespace
 * whose pid no longer runs is stale and removed at the next start. Teardown deletes the
 * namespaces (killing first whatever still runs in them: only the lab starts processes
 * there), also from `process.on('exit')`, synchronously; while namespaces exist, SIGINT,
 * SIGTERM and SIGHUP are turned into an exit so that this runs.
 */
import { execFile, execFileSync } from 'node:child_process'
import { constants } from 'node:os'
import { promisify } from 'node:util'

const run = promisify(execFile)
export const NS_PREFIX = 'mgl-'

export class NetnsError extends Error {
  override readonly name = 'NetnsError'
}

/** Why namespaces cannot be made here, or undefined when they can (root, `ip` present, a probe namespace works). */
export async function netnsUnavailable (): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'not root (network namespaces need CAP_SYS_ADMIN)'
  const probe = `${NS_PREFIX}${process.pid}-probe`
  try {
    await run('ip', ['netns', 'add', probe])
  } catch (err) {
    return `ip netns add failed: ${(err as Error).message.split('\n')[0]}`
  }
  try {
    await run('ip', ['-n', probe, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1'])
    return undefined
  } catch (err) {
    return `no veth in this kernel: ${(err as Error).message.split('\n')[0]}`
  } finally {
    await run('ip', ['netns', 'del', probe]).catch(() => {})
  }
}

/** Whether `tc qdisc … netem` works in namespace `ns` on device `dev` (it is removed again). */
export async function hasNetem (ns: string, dev: string): Promise<boolean> {
  try {
    await run('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'add', 'dev', dev, 'root', 'netem', 'delay', '1ms'])
    await run('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'del', 'dev', dev, 'root'])
    return true
  } catch {
    return false
  }
}

function pidAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Kill what runs in `ns` (only lab processes can) and delete it; never throws. */
function deleteNamespaceSync (ns: string): void {
  try {
    const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    for (const pid of pids.split(/\s+/).filter((p) => p !== '')) {
      try { process.kill(Number(pid), 'SIGKILL') } catch { /* gone */ }
    }
  } catch { /* no such namespace */ }
  try { execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' }) } catch { /* already gone */ }
}

/** Remove the namespaces of lab runs whose process has ended; returns their names. */
export function removeStaleNamespaces (): string[] {
  let list = ''
  try { list = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }) } catch { return [] }
  const stale = list.split('\n').map((line) => line.split(' ')[0]!)
    .filter((name) => name.startsWith(NS_PREFIX))
    .filter((name) => {
      const pid = Number(name.slice(NS_PREFIX.length).split('-')[0])
      return !Number.isInteger(pid) || pid <= 0 || !pidAlive(pid)
    })
  for (const ns of stale) deleteNamespaceSync(ns)
  return stale
}

export interface LabHost {
  /** 0 the client, 1…n the mixes, n+1 the exit. */
  readonly index: number
  readonly ns: string
  /** The host's own address (on eth0). */
  readonly address: string
  /** The wire's address on this host's link, where the shaper listens for it. */
  readonly wireAddress: string
}

export interface LabNet {
  readonly wire: string
  readonly hosts: LabHost[]
  /** Take host k's link down (a partition: silent) or up again. */
  setLinkUp (index: number, up: boolean): Promise<void>
  /** `ip netns exec ns …argv` (the command line of a process in host k's namespace). */
  exec (ns: string, argv: readonly string[]): string[]
  /** Delete every namespace (and what still runs in them). Idempotent. */
  close (): void
}

const live = new Set<() => void>()
const afterwards = new Set<() => void>()
const closeAll = (): void => {
  for (const close of [...live]) close()
  for (const cleanup of [...afterwards]) { afterwards.delete(cleanup); cleanup() }
}
process.once('exit', closeAll)
/**
 * A signal that would end the process without 'exit' (tap's timeout sends SIGTERM): clean up
 * here, synchronously (a test runner's own signal handling may end the process before 'exit'
 * handlers run), then exit with the shell's status for it (128 + number).
 */
const onSignal = (signal: NodeJS.Signals): void => {
  closeAll()
  process.exit(128 + (constants.signals[signal] ?? 0))
}

/** Run `cleanup` (synchronous, never throwing) after the namespaces are gone, if the process ends early; returns the undo. */
export function atLabExit (cleanup: () => void): () => void {
  afterwards.add(cleanup)
  return () => { afterwards.delete(cleanup) }
}
function watchSignals (on: boolean): void {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.removeListener(signal, onSignal)
    if (on) process.once(signal, onSignal)
  }
}

async function ip (...args: string[]): Promise<void> {
  try {
    await run('ip', args)
  } catch (err) {
    throw new NetnsError(`ip ${args.join(' ')}: ${(err as { stderr?: string }).stderr?.trim() ?? (err as Error).message}`)
  }
}

/** Make the wire and `hostCount` host namespaces, linked and addressed. */
export async function createLabNet (hostCount: number): Promise<LabNet> {
  removeStaleNamespaces()
  const base = `${NS_PREFIX}${process.pid}-`
  const wire = `${base}wire`
  const hosts: LabHost[] = Array.from({ length: hostCount }, (_, k) => ({
    index: k,
    ns: `${base}h${k}`,
    address: `10.77.${k}.2`,
    wireAddress: `10.77.${k}.1`,
  }))
  const made: string[] = []
  let closed = false
  const close = (): void => {
    if (closed) return
    closed = true
    live.delete(close)
    if (live.size === 0) watchSignals(false)
    for (const ns of made.reverse()) deleteNamespaceSync(ns)
  }
  live.add(close)
  watchSignals(true)
  try {
    for (const ns of [wire, ...hosts.map((h) => h.ns)]) {
      await ip('netns', 'add', ns)
      made.push(ns)
      await ip('-n', ns, 'link', 'set', 'lo', 'up')
    }
    for (const host of hosts) {
      await ip('-n', wire, 'link', 'add', `h${host.index}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.ns)
      await ip('-n', wire, 'addr', 'add', `${host.wireAddress}/24`, 'dev', `h${host.index}`)
      await ip('-n', wire, 'link', 'set', `h${host.index}`, 'up')
      await ip('-n', host.ns, 'addr', 'add', `${host.address}/24`, 'dev', 'eth0')
      await ip('-n', host.ns, 'link', 'set', 'eth0', 'up')
      await ip('-n', host.ns, 'route', 'add', 'default', 'via', host.wireAddress)
    }
  } catch (err) {
    close()
    throw err
  }
  return {
    wire,
    hosts,
    async setLinkUp (index, up) {
      await ip('-n', wire, 'link', 'set', `h${index}`, up ? 'up' : 'down')
      // The host's default route went with the carrier on some kernels: put it back.
      if (up) await ip('-n', hosts[index]!.ns, 'route', 'replace', 'default', 'via', hosts[index]!.wireAddress)
    },
    exec: (ns, argv) => ['netns', 'exec', ns, ...argv],
    close,
  }
}
