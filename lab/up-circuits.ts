/**
 * Downloads on separate circuits through `mixgate up`, run by hand, to see whether a shaped
 * cascade keeps its loop probes under load (issue #12: elastic lost loops, and once failed
 * closed, in the bench's "8 streams, a circuit each"):
 *
 *   node dist/lab/up-circuits.js [--shaping elastic] [--circuits 8] [--mib 16] [--reps 2]
 *        [--warm-mib 64] [--warm-runs 1] [--hop-threads N] [--log FILE] [--log-level L]
 *
 * Starts `up` through its launcher (bin/mixgate as its own program), downloads --warm-mib
 * --warm-runs times on the default key, then --reps times --circuits downloads of --mib at once, each on its own
 * SOCKS username (so its own circuit), and prints one JSON line: each rep's seconds and
 * outcome, and the client's loop counters (sent, returned, lost, late) and the times it failed
 * closed, read from its /metrics. Not a test: figures depend on the load.
 */
import { spawn } from 'node:child_process'
import { openSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { startOrigin } from '../bench/origin.js'
import { fetchExpect, socksDispatcher } from '../bench/http-client.js'
import { processTreeCpuSeconds } from '../bench/proc-cpu.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const READY_LINE = /^mixgate: SOCKS5 proxy listening on ([0-9.]+):([0-9]+) \(/
const ADMIN_LINE = /^mixgate: admin (http:\/\/[0-9.:]+)/

const { values } = parseArgs({
  options: {
    shaping: { type: 'string', default: 'elastic' },
    circuits: { type: 'string', default: '8' },
    mib: { type: 'string', default: '16' },
    reps: { type: 'string', default: '2' },
    'warm-mib': { type: 'string', default: '64' },
    'warm-runs': { type: 'string', default: '1' },
    'hop-threads': { type: 'string' },
    log: { type: 'string' },
    'log-level': { type: 'string' },
  },
})

const upArgs = ['up', '--shaping', values.shaping, '--socks', '127.0.0.1:0', '--exit-policy', 'accept 127.0.0.1:*', '--epoch-s', '86400',
  ...(values['hop-threads'] === undefined ? [] : ['--hop-threads', values['hop-threads']]),
  ...(values['log-level'] === undefined ? [] : ['--log-level', values['log-level']])]
const stderr = values.log === undefined ? 'ignore' : openSync(values.log, 'w')
const up = spawn(`${ROOT}bin/mixgate`, upArgs, { stdio: ['ignore', 'pipe', stderr] })
const lines = createInterface({ input: up.stdout! })
let port = 0
const admin = await new Promise<string>((resolve, reject) => {
  lines.on('line', (line) => {
    const ready = READY_LINE.exec(line)
    if (ready !== null) port = Number(ready[2])
    const url = ADMIN_LINE.exec(line)
    if (url !== null) resolve(url[1]!)
  })
  up.once('exit', (code) => { reject(new Error(`up exited (${String(code)}) before it was ready`)) })
})

/** The client's loop counters and failed-closed gauge from its /metrics. */
async function loopCounters (): Promise<Record<string, number>> {
  const text = await (await fetch(`${admin}/metrics`)).text()
  const out: Record<string, number> = {}
  for (const name of ['loops_sent', 'loops_returned', 'loops_lost', 'loops_late']) {
    out[name] = Number(new RegExp(`^mixgate_${name}_total (\\S+)$`, 'm').exec(text)?.[1] ?? NaN)
  }
  out.failClosed = Number(/^mixgate_fail_closed_total (\S+)$/m.exec(text)?.[1] ?? NaN)
  return out
}

const result: Record<string, unknown> = { shaping: values.shaping, circuits: Number(values.circuits), mib: Number(values.mib) }
const origin = await startOrigin(Math.max(Number(values['warm-mib']), Number(values.mib)) * 2 ** 20)
try {
  const warm = Number(values['warm-mib']) * 2 ** 20
  const warmRuns: Array<{ mbPerS: number, cpuS: number }> = []
  for (let run = 0; warm > 0 && run < Number(values['warm-runs']); run++) {
    const cpuBefore = processTreeCpuSeconds(up.pid!)
    const transfer = await fetchExpect(socksDispatcher(port), `http://127.0.0.1:${origin.port}/bytes/${warm}`, origin.body.subarray(0, warm))
    warmRuns.push({ mbPerS: Math.round(transfer.bytes / transfer.seconds / 1e4) / 100, cpuS: Math.round((processTreeCpuSeconds(up.pid!) - cpuBefore) * 100) / 100 })
  }
  result.warm = warmRuns
  const each = Number(values.mib) * 2 ** 20
  const url = `http://127.0.0.1:${origin.port}/bytes/${each}`
  const body = origin.body.subarray(0, each)
  const reps: unknown[] = []
  for (let rep = 0; rep < Number(values.reps); rep++) {
    const dispatchers = Array.from({ length: Number(values.circuits) }, (_, i) => socksDispatcher(port, `lab-${i}`))
    const cpuBefore = processTreeCpuSeconds(up.pid!)
    const started = performance.now()
    const outcomes = await Promise.allSettled(dispatchers.map(async (d) => await fetchExpect(d, url, body, true)))
    const seconds = (performance.now() - started) / 1000
    const failed = outcomes.filter((o) => o.status === 'rejected').map((o) => String((o as PromiseRejectedResult).reason).slice(0, 120))
    reps.push({ seconds: Math.round(seconds * 10) / 10, cpuS: Math.round((processTreeCpuSeconds(up.pid!) - cpuBefore) * 10) / 10, failed, loops: await loopCounters() })
    for (const d of dispatchers) await d.destroy().catch(() => {})
  }
  result.reps = reps
} finally {
  await origin.close()
  up.kill('SIGINT')
  await new Promise((resolve) => up.once('exit', resolve))
}
console.log(JSON.stringify(result))
