/**
 * What the soak (soak.ts) runs its streams through, and the processes whose memory it samples:
 *
 *   - `up`: `mixgate up`, every node a thread of one process (the whole cascade's RSS is that
 *     process's, and it cannot be split by thread from outside);
 *   - `separate`: every node its own process on loopback (`mixgate mix|exit|client --config`,
 *     from a config set made as `up --state-dir` makes it, lab/cascade-set.ts), as on separate
 *     hosts: the memory of each role, and what one process per node costs beside `up`'s threads.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startChild } from '../bench/child-process.js'
import { launcherSettings } from '../bench/launcher-settings.js'
import { startCli, type CliProcess } from '../test/cli/spawn-cli.js'
import { freePorts } from '../src/node/start/free-ports.js'
import { DEFAULT_SHAPING, type ShapingProfile } from '../src/protocol/shaping.js'
import { writeCascadeSet } from './cascade-set.js'
import { memoryMap, type MemoryMap } from './smaps.js'

export type SoakTargetKind = 'up' | 'separate'

export interface ProcessMemory {
  readonly rssMiB: number
  /**
   * Of rssMiB, the anonymous pages (heaps, buffers, the allocator's arenas) and the file pages
   * (mostly the node binary's code, shared with every other node process on the host).
   */
  readonly anonMiB: number
  readonly fileMiB: number
  readonly fds: number
  /** CPU time used so far, user and system (/proc/PID/stat; 100 ticks a second assumed, as on Linux x86-64). */
  readonly cpuS: number
  /** The same RSS by kind of mapping (smaps.ts). */
  readonly map: MemoryMap
}

export interface SoakTarget {
  readonly socksPort: number
  /** The client's admin base URL (its /metrics). */
  readonly admin: string
  /** Node name (`up`, or `client`, `mix1`…, `exit`) and pid of every process of the cascade. */
  readonly processes: ReadonlyArray<{ readonly name: string, readonly pid: number }>
  stop (): Promise<void>
}

const UP_READY = /^mixgate: SOCKS5 proxy listening on [0-9.]+:([0-9]+) /
const ADMIN_LINE = /^mixgate: admin (http:\/\/\S+)/
const BIN = fileURLToPath(new URL('../../bin/mixgate', import.meta.url))
const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

/** VmRSS, RssAnon and RssFile of /proc/PID/status in MiB, the open descriptors, and where the RSS is. */
export function processMemory (pid: number): ProcessMemory {
  const lines = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')
  const kib = (key: string): number => Number(lines.find((l) => l.startsWith(`${key}:`))?.split(/\s+/)[1] ?? NaN) / 1024
  return { rssMiB: kib('VmRSS'), anonMiB: kib('RssAnon'), fileMiB: kib('RssFile'), fds: readdirSync(`/proc/${pid}/fd`).length, cpuS: cpuSeconds(pid), map: memoryMap(pid) }
}

function cpuSeconds (pid: number): number {
  // Fields after the command name (which may hold spaces, so split after its closing paren): utime is the 12th, stime the 13th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/**
 * `nodeFlags`: node's own flags for `up` (e.g. V8's --max-semi-space-size), to measure what they
 * change. `hopFields`: more fields of the separate nodes' configs, by position (1 = entry), as
 * an operator sets them (e.g. the exit's `maxOutbound`).
 */
export async function startSoakTarget (kind: SoakTargetKind, shaping: ShapingProfile, nodeFlags: readonly string[] = [], mixes = 3, hopFields: Readonly<Record<number, Record<string, unknown>>> = {}): Promise<SoakTarget> {
  if (kind === 'separate' && nodeFlags.length > 0) throw new Error('node flags are for the up target only')
  if (kind === 'up' && Object.keys(hopFields).length > 0) throw new Error('config fields are for the separate target only')
  return kind === 'up' ? await startUp(shaping, nodeFlags) : await startSeparate(shaping, mixes, hopFields)
}

async function startUp (shaping: ShapingProfile, nodeFlags: readonly string[]): Promise<SoakTarget> {
  const runtimeDir = mkdtempSync(join(tmpdir(), 'mixgate-soak-'))
  try {
    // The launcher's own settings (its #! line) first, as `mixgate up` runs them; then the run's.
    const launcher = launcherSettings(BIN)
    const child = await startChild({
      nodeFlags: [...launcher.nodeFlags, ...nodeFlags],
      script: BIN,
      args: ['up', '--socks', '127.0.0.1:0', '--shaping', shaping, '--exit-policy', 'accept 127.0.0.1:*', '--log-level', 'warn'],
      ready: UP_READY,
      // Its own runtime dir: `up` records itself there (running-up.ts), never in the user's.
      env: { ...launcher.env, MIXGATE_RUNTIME_DIR: runtimeDir },
    })
    while (child.lines.length === 0) await sleep(50)
    return {
      socksPort: Number(UP_READY.exec(child.readyLine)![1]),
      admin: ADMIN_LINE.exec(child.lines[0]!)?.[1] ?? '',
      processes: [{ name: 'up', pid: child.pid }],
      async stop () {
        await child.stop()
        rmSync(runtimeDir, { recursive: true, force: true })
      },
    }
  } catch (err) {
    rmSync(runtimeDir, { recursive: true, force: true })
    throw err
  }
}

async function startSeparate (shaping: ShapingProfile, mixes: number, hopFields: Readonly<Record<number, Record<string, unknown>>>): Promise<SoakTarget> {
  const hops = mixes + 1
  const dir = mkdtempSync(join(tmpdir(), 'mixgate-soak-'))
  const teardowns: Array<() => unknown> = []
  const stop = async (): Promise<void> => {
    for (const fn of teardowns.splice(0).reverse()) await fn()
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    const ports = await freePorts('127.0.0.1', 2 * hops + 2)
    const socksPort = ports[2 * hops]!
    const clientAdmin = ports[2 * hops + 1]!
    await writeCascadeSet(dir, {
      hops: Array.from({ length: hops }, (_, i) => ({ address: { host: '127.0.0.1', port: ports[i]! }, admin: { host: '127.0.0.1', port: ports[hops + i]! } })),
      params: { cellSize: 2048, roundMs: 10, epochS: 3600, genesis: 0, shaping: DEFAULT_SHAPING[shaping] },
      exitPolicy: ['accept 127.0.0.1:*'],
      socks: { host: '127.0.0.1', port: socksPort },
      clientAdmin: { host: '127.0.0.1', port: clientAdmin },
      // info: the lines the lab waits for (node.started, entry.connected); per-stream events are only counted (R19).
      log: { level: 'info', format: 'text' },
      hopFields,
    })
    const collector = { teardown: (fn: () => unknown) => { teardowns.push(fn) } }
    const processes: Array<{ name: string, pid: number }> = []
    const started: CliProcess[] = []
    // The exit first, so each node finds its successor listening.
    for (let position = hops; position >= 1; position--) {
      const name = position === hops ? 'exit' : `mix${position}`
      const role = position === hops ? 'exit' : 'mix'
      // Run as a program, as the systemd units run it: its #! line's settings apply.
      const node = startCli(collector, [role, '--config', join(dir, `${name}.json`)], { command: BIN })
      await node.waitForStderr(new RegExp(`node\\.started role=${role}`), 30_000)
      started.push(node)
      processes.unshift({ name, pid: node.child.pid! })
    }
    const client = startCli(collector, ['client', '--config', join(dir, 'client.json')], { cwd: dir, command: BIN })
    started.push(client)
    processes.unshift({ name: 'client', pid: client.child.pid! })
    await client.waitForStderr(/entry\.connected/, 30_000)
    // Stopped gracefully, the client first (startCli's teardown kills only what is left).
    teardowns.push(async () => { for (const node of started.slice().reverse()) await node.stop('SIGTERM').catch(() => {}) })
    return { socksPort, admin: `http://127.0.0.1:${clientAdmin}`, processes, stop }
  } catch (err) {
    await stop()
    throw err
  }
}
