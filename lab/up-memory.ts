/**
 * Where `mixgate up`'s memory goes, and whether it comes back (issue #17), run by hand:
 *
 *   node dist/lab/up-memory.js --shaping elastic [--streams 1000] [--idle-s 30]
 *        [--node-flag --max-semi-space-size=2]... [--env MALLOC_ARENA_MAX=2]... [--hop-threads N]
 *        [--launcher] [--download-mib 64] [--log FILE] [--log-level L] [--smaps-dir DIR]
 *
 * Starts `up` (by default `node [flags] bin/mixgate up …`; with --launcher, bin/mixgate run as
 * its own program, so that its #! line applies), reads its RSS by kind of mapping (smaps.ts)
 * after `--idle-s` seconds idle; with --streams, then holds that many streams of one key at
 * once (the bench's held-streams opener, against its echo holder), closes them, and reads the
 * RSS again 5 s and 30 s later; with --download-mib, first one download of that size (MB/s, the
 * process's CPU-s/GB); with --log, `up`'s stderr (its nodes' log) goes to FILE, at `up`'s
 * --log-level if given; with --smaps-dir, /proc/PID/smaps itself at the idle and the 30 s
 * readings (idle.smaps, closed30s.smaps), to see which mappings kept what. Prints one JSON
 * line, with the held streams' outcome (served, cut, lost). Not a test: figures depend on the load.
 */
import { spawn } from 'node:child_process'
import { openSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { startChild } from '../bench/child-process.js'
import { openHeldStreams } from '../bench/held-streams.js'
import { heldCapacity } from '../bench/held-streams-phase.js'
import { startOrigin } from '../bench/origin.js'
import { fetchExpect, socksDispatcher } from '../bench/http-client.js'
import { processTreeCpuSeconds } from '../bench/proc-cpu.js'
import { memoryMap, type MemoryMap } from './smaps.js'
import type { ShapingProfile } from '../src/protocol/shaping.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const READY_LINE = /^mixgate: SOCKS5 proxy listening on ([0-9.]+):([0-9]+) \(/

const { values } = parseArgs({
  options: {
    shaping: { type: 'string', default: 'elastic' },
    streams: { type: 'string', default: '0' },
    'idle-s': { type: 'string', default: '30' },
    'node-flag': { type: 'string', multiple: true, default: [] },
    env: { type: 'string', multiple: true, default: [] },
    'hop-threads': { type: 'string' },
    launcher: { type: 'boolean', default: false },
    'download-mib': { type: 'string', default: '0' },
    log: { type: 'string' },
    'log-level': { type: 'string' },
    'smaps-dir': { type: 'string' },
  },
})

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

function rssMiB (pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return match === null ? 0 : Math.round(Number(match[1]) / 102.4) / 10
}

interface Sample { readonly rssMiB: number, readonly map: MemoryMap }
/** A reading; with --smaps-dir, the process's whole smaps kept there too, as NAME.smaps (to diff mapping by mapping). */
function sample (pid: number, name?: string): Sample {
  if (name !== undefined && values['smaps-dir'] !== undefined) writeFileSync(join(values['smaps-dir'], `${name}.smaps`), readFileSync(`/proc/${pid}/smaps`))
  return { rssMiB: rssMiB(pid), map: memoryMap(pid) }
}

const env: Record<string, string> = {}
for (const pair of values.env) {
  const at = pair.indexOf('=')
  env[pair.slice(0, at)] = pair.slice(at + 1)
}
const profile = values.shaping as ShapingProfile
const upArgs = ['up', '--shaping', profile, '--socks', '127.0.0.1:0', '--exit-policy', 'accept 127.0.0.1:*', '--epoch-s', '86400',
  ...(values['hop-threads'] === undefined ? [] : ['--hop-threads', values['hop-threads']]),
  ...(values['log-level'] === undefined ? [] : ['--log-level', values['log-level']])]

const started = Date.now()
const stderr = values.log === undefined ? 'ignore' : openSync(values.log, 'w')
const up = values.launcher
  ? spawn(`${ROOT}bin/mixgate`, upArgs, { stdio: ['ignore', 'pipe', stderr], env: { ...process.env, ...env } })
  : spawn(process.execPath, [...values['node-flag'], `${ROOT}bin/mixgate`, ...upArgs], { stdio: ['ignore', 'pipe', stderr], env: { ...process.env, ...env } })
const lines = createInterface({ input: up.stdout! })
const port = await new Promise<number>((resolve, reject) => {
  lines.on('line', (line) => {
    const ready = READY_LINE.exec(line)
    if (ready !== null) resolve(Number(ready[2]))
  })
  up.once('exit', (code) => { reject(new Error(`up exited (${String(code)}) before it was ready`)) })
})
const readyMs = Date.now() - started
const pid = up.pid!
const result: Record<string, unknown> = { profile, nodeFlags: values['node-flag'], env, launcher: values.launcher, readyMs }
try {
  await sleep(Number(values['idle-s']) * 1000)
  result.idle = sample(pid, 'idle')
  const downloadMiB = Number(values['download-mib'])
  if (downloadMiB > 0) {
    // One download through `up` after the idle sample: its CPU (the whole process) and speed,
    // to weigh a setting's cost in time against what it saves in memory.
    const origin = await startOrigin(downloadMiB * 2 ** 20)
    try {
      const cpuBefore = processTreeCpuSeconds(pid)
      const transfer = await fetchExpect(socksDispatcher(port), `http://127.0.0.1:${origin.port}/bytes/${origin.body.length}`, origin.body)
      const cpu = processTreeCpuSeconds(pid) - cpuBefore
      result.download = { mib: downloadMiB, mbPerS: Math.round(transfer.bytes / transfer.seconds / 1e4) / 100, cpuSPerGB: Math.round(cpu / transfer.bytes * 1e10) / 10 }
      await sleep(2000)
      result.afterDownload = sample(pid)
    } finally {
      await origin.close()
    }
  }
  const count = Number(values.streams)
  if (count > 0) {
    const holder = await startChild({ script: `${ROOT}dist/bench/holder-child.js`, args: [], ready: /^holder: \d+$/ })
    try {
      const capacity = heldCapacity(profile)
      const held = await openHeldStreams({
        socksPort: port,
        targetPort: Number(/\d+$/.exec(holder.readyLine)![0]),
        count,
        inFlight: 100,
        giveUpAfter: 200,
        ...(capacity === undefined ? {} : { capacity }),
        timeCapMs: 300_000,
      })
      await sleep(2000)
      const { served, cut, lost, replies } = held.result
      result.held = { streams: held.result.held, served, cut, lost, replies, ...sample(pid) }
      held.close()
      await sleep(5000)
      result.closed5s = sample(pid)
      await sleep(25_000)
      result.closed30s = sample(pid, 'closed30s')
    } finally {
      await holder.stop()
    }
  }
} finally {
  up.kill('SIGINT')
  await new Promise((resolve) => up.once('exit', resolve))
}
console.log(JSON.stringify(result))
