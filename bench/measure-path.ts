/**
 * The measurements of one path (direct, SOCKS relay, mixgate): single-stream and 8-stream
 * throughput with CPU over every process involved, and the latency of a 1 KiB request on a
 * fresh connection and on a kept-alive one.
 */
import type { Dispatcher } from 'undici'
import type { Origin } from './origin.js'
import { cuts, fetchExpect, fetchParallel, latencies, quantile } from './http-client.js'
import { CpuMeter } from './proc-cpu.js'

export interface PathConfig {
  readonly singleBytes: number
  readonly singleRuns: number
  readonly parallelStreams: number
  readonly parallelBytesEach: number
  readonly latencyRequests: number
}

export interface Cpu { readonly self: number, readonly child: number, readonly total: number }

export interface ThroughputResult {
  readonly bytes: number
  readonly seconds: number
  /** 10^6 bytes per second. */
  readonly mbps: number
  readonly cpu: Cpu
  /** CPU seconds of every process involved, per 10^9 bytes delivered. */
  readonly cpuSecondsPerGB: number
}

export interface LatencyResult {
  readonly requests: number
  readonly p50Ms: number
  readonly p90Ms: number
  readonly minMs: number
  readonly maxMs: number
  /** TCP connections the origin accepted during the run (≥ requests when each was fresh). */
  readonly originConnections: number
}

export interface PathResult {
  /** `mbps` is the median run's; bytes, seconds and CPU are summed over every run. */
  readonly single: ThroughputResult & { readonly runs: Array<{ seconds: number, mbps: number }> }
  readonly parallel: ThroughputResult & { readonly streams: number }
  readonly latencyFresh: LatencyResult
  readonly latencyKeepAlive: LatencyResult
  /** Transfers cut by the connection and tried again (http-client.ts `cuts`), in this path's measurements. */
  readonly cutTransfers: number
}

/** Bytes as MiB for the progress lines (KiB when under one MiB). */
export function mib (bytes: number): string {
  return bytes < 2 ** 20 ? `${(bytes / 1024).toFixed(0)} KiB` : `${(bytes / 2 ** 20).toFixed(bytes < 10 * 2 ** 20 ? 1 : 0)} MiB`
}

function throughput (bytes: number, seconds: number, cpu: Cpu): ThroughputResult {
  return { bytes, seconds, mbps: bytes / seconds / 1e6, cpu, cpuSecondsPerGB: (cpu.total * 1e9) / bytes }
}

async function latency (dispatcher: Dispatcher, origin: Origin, count: number, fresh: boolean): Promise<LatencyResult> {
  const url = `http://127.0.0.1:${origin.port}/small`
  await latencies(dispatcher, url, origin.small, WARMUP_REQUESTS, fresh)
  const before = origin.connections
  const ms = await latencies(dispatcher, url, origin.small, count, fresh)
  return {
    requests: ms.length,
    p50Ms: quantile(ms, 0.5),
    p90Ms: quantile(ms, 0.9),
    minMs: Math.min(...ms),
    maxMs: Math.max(...ms),
    originConnections: origin.connections - before,
  }
}

const WARMUP_REQUESTS = 3

/**
 * `dispatchers.length` transfers of `bytesEach` at once, each through its own dispatcher (for
 * mixgate: its own SOCKS username, so its own circuit), after a warm-up transfer on each.
 */
export async function measureSeparateStreams (dispatchers: readonly Dispatcher[], origin: Origin, bytesEach: number, childPid: number | undefined): Promise<ThroughputResult & { readonly streams: number }> {
  const url = `http://127.0.0.1:${origin.port}/bytes/${bytesEach}`
  const body = origin.body.subarray(0, bytesEach)
  await Promise.all(dispatchers.map((d) => fetchExpect(d, url, body, true)))
  const meter = new CpuMeter(childPid)
  meter.start()
  const started = performance.now()
  const results = await Promise.all(dispatchers.map((d) => fetchExpect(d, url, body, true)))
  const seconds = (performance.now() - started) / 1000
  const bytes = results.reduce((sum, r) => sum + r.bytes, 0)
  return { ...throughput(bytes, seconds, meter.read()), streams: dispatchers.length }
}

/**
 * Measure one path: 1 KiB latency first, then single-stream and parallel throughput.
 * `makeDispatcher` gives a new client for the path: one each for the new-connection
 * requests, the kept-alive requests and the transfers. `childPid` is the separate process
 * the path runs through.
 */
export async function measurePath (makeDispatcher: () => Dispatcher, origin: Origin, config: PathConfig, childPid: number | undefined, log: (line: string) => void): Promise<PathResult> {
  const dispatcher = makeDispatcher()
  const cutsBefore = cuts.count
  try {
    return { ...await measureWith(dispatcher, makeDispatcher, origin, config, childPid, log), cutTransfers: cuts.count - cutsBefore }
  } finally {
    await dispatcher.destroy().catch(() => {})
  }
}

async function measureWith (dispatcher: Dispatcher, makeDispatcher: () => Dispatcher, origin: Origin, config: PathConfig, childPid: number | undefined, log: (line: string) => void): Promise<Omit<PathResult, 'cutTransfers'>> {
  const base = `http://127.0.0.1:${origin.port}`
  const meter = new CpuMeter(childPid)
  // Latency first, before any bulk transfer: a shaped circuit is then idle (at its lowest
  // rung), which is what a page load after a pause meets.
  const freshDispatcher = makeDispatcher()
  let latencyFresh: LatencyResult
  try {
    latencyFresh = await latency(freshDispatcher, origin, config.latencyRequests, true)
  } finally {
    await freshDispatcher.destroy().catch(() => {})
  }
  log(`  1 KiB, new connection each: p50 ${latencyFresh.p50Ms.toFixed(2)} ms`)
  // Kept alive on a client of its own: the transfers below then start on a new connection.
  const keptDispatcher = makeDispatcher()
  let latencyKeepAlive: LatencyResult
  try {
    latencyKeepAlive = await latency(keptDispatcher, origin, config.latencyRequests, false)
  } finally {
    await keptDispatcher.destroy().catch(() => {})
  }
  log(`  1 KiB, kept alive: p50 ${latencyKeepAlive.p50Ms.toFixed(2)} ms`)

  // Warm-up, one full-size transfer: connections, circuits, JIT, socket buffers (the first
  // large transfer of a process is much slower than the next ones).
  const warmBytes = config.singleBytes
  await fetchExpect(dispatcher, `${base}/bytes/${warmBytes}`, origin.body.subarray(0, warmBytes), true)

  const singleUrl = `${base}/bytes/${config.singleBytes}`
  const singleBody = origin.body.subarray(0, config.singleBytes)
  const runs: Array<{ seconds: number, mbps: number }> = []
  meter.start()
  for (let i = 0; i < config.singleRuns; i++) {
    const t = await fetchExpect(dispatcher, singleUrl, singleBody, true)
    runs.push({ seconds: t.seconds, mbps: t.bytes / t.seconds / 1e6 })
    log(`  single stream ${i + 1}/${config.singleRuns}: ${mib(t.bytes)} in ${t.seconds.toFixed(2)} s`)
  }
  const singleCpu = meter.read()
  const singleSeconds = runs.reduce((sum, r) => sum + r.seconds, 0)
  const single = { ...throughput(config.singleBytes * config.singleRuns, singleSeconds, singleCpu), mbps: quantile(runs.map((r) => r.mbps), 0.5), runs }

  meter.start()
  const p = await fetchParallel(dispatcher, `${base}/bytes/${config.parallelBytesEach}`, origin.body.subarray(0, config.parallelBytesEach), config.parallelStreams)
  const parallel = { ...throughput(p.bytes, p.seconds, meter.read()), streams: config.parallelStreams }
  log(`  ${config.parallelStreams} streams: ${mib(p.bytes)} in ${p.seconds.toFixed(2)} s`)

  return { single, parallel, latencyFresh, latencyKeepAlive }
}
