/**
 * `npm run bench`: what the cascade costs, against a direct connection and a plain SOCKS hop.
 *
 * One run, on loopback, against a local node:http origin serving from memory:
 *   (a) direct, (b) through a trivial in-process SOCKS5 relay (socks-relay.ts), and
 *   (c) through `mixgate up --mixes 3` as a separate child process (its CPU from /proc),
 * each measured for single-stream and 8-stream throughput (every byte checked), 1 KiB latency
 * (new connection per request, and kept alive) and CPU seconds per GB over every process;
 * then the per-cell figures: layer crypto alone (layer-crypto.ts), one mix in its own
 * process under synthetic load (mix-load.ts), and the whole `up` process per cell.
 * Prints a table with ratios to direct and writes JSON (bench/results/bench-<date>.json, or
 * --out). Not a test: it asserts nothing, but exits non-zero if a transfer fails or returns
 * wrong bytes, and stops every child process it started, also on error.
 *
 *   npm run bench [-- --quick] [--out FILE] [--cpu-prof] [--mixes N]
 *
 * --quick     8 MiB instead of 64 MiB, fewer requests and shorter phases (smoke test).
 * --cpu-prof  run the `up` child with node --cpu-prof and print its hot spots.
 * --mixes N   mixes in the measured cascade (default 3).
 * --shaping P the cascade's shaping profile (default elastic, as `up`; off for raw speed).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { cryptoReady } from '../src/crypto/index.js'
import { Geometry } from '../src/protocol/geometry.js'
import type { BenchResult, UpPerCell } from './bench-result.js'
import { startChild, type BenchChild } from './child-process.js'
import { summarizeProfile, type ProfileSummary } from './cpu-profile.js'
import { freePorts } from '../src/node/start/free-ports.js'
import { directDispatcher, socksDispatcher } from './http-client.js'
import { measureLayerCrypto } from './layer-crypto.js'
import { measurePath, measureSeparateStreams, type PathConfig, type PathResult } from './measure-path.js'
import { runMixLoad } from './mix-load.js'
import { startOrigin, type Origin } from './origin.js'
import { renderReport } from './report.js'
import { startSocksRelay, type SocksRelay } from './socks-relay.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const CELL_SIZE = 2048 // `mixgate up`'s default cell size
const MiB = 2 ** 20
const READY_LINE = /^mixgate: SOCKS5 proxy listening on ([0-9.]+):([0-9]+) \(/

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    out: { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
    mixes: { type: 'string', default: '3' },
    shaping: { type: 'string', default: 'elastic' },
  },
})
const quick = args.quick!
const mixes = Number(args.mixes)
const shaping = args.shaping!
const config: PathConfig = quick
  ? { singleBytes: 8 * MiB, singleRuns: 1, parallelStreams: 8, parallelBytesEach: 1 * MiB, latencyRequests: 20 }
  : { singleBytes: 64 * MiB, singleRuns: 5, parallelStreams: 8, parallelBytesEach: 16 * MiB, latencyRequests: 50 }

/** Streams measured on separate circuits (the default profile keeps three per client). */
const SEPARATE_CIRCUITS = 3

const log = (line: string): void => { process.stderr.write(`${line}\n`) }

// A signal must still stop the children: exiting runs child-process.ts's 'exit' hook.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130))

function stamp (): string {
  return new Date().toISOString().replace(/:/g, '-').replace(/\..*$/, '')
}

async function main (): Promise<void> {
  await cryptoReady()
  const loadavgStart = loadavg()
  if (loadavgStart[0]! > 0.5) log(`warning: load average ${loadavgStart[0]!.toFixed(2)} at start: other work on this machine skews wall-clock figures (CPU figures less so)`)
  const runStamp = stamp()
  const outFile = args.out ?? join(ROOT, 'bench/results', `bench-${runStamp}.json`)

  let origin: Origin | undefined
  let relay: SocksRelay | undefined
  let cascade: BenchChild | undefined
  const workDir = mkdtempSync(join(tmpdir(), 'mixgate-bench-'))
  try {
    log(`origin: ${(config.singleBytes / MiB).toFixed(0)} MiB body in memory`)
    origin = await startOrigin(Math.max(config.singleBytes, config.parallelBytesEach, MiB))

    log('layer crypto …')
    const layerCrypto = measureLayerCrypto({ cellSize: CELL_SIZE, hops: mixes + 1, minSeconds: quick ? 0.2 : 1 })

    log('(a) direct')
    const direct = await measurePath(directDispatcher, origin, config, undefined, log)

    log('(b) SOCKS relay')
    relay = await startSocksRelay()
    const relayPort = relay.port
    const relayed = await measurePath(() => socksDispatcher(relayPort), origin, config, undefined, log)
    await relay.close()
    relay = undefined

    const profileDir = args['cpu-prof'] ? join(workDir, 'profile') : undefined
    const socksPort = (await freePorts('127.0.0.1', 1))[0]!
    const upArgs = ['up', '--mixes', String(mixes), '--shaping', shaping, '--socks', `127.0.0.1:${socksPort}`, '--exit-policy', 'accept 127.0.0.1:*']
    const script = join(ROOT, 'bin/mixgate')
    const label = 'mixgate up'
    log(`(c) ${label} --mixes ${mixes}${profileDir === undefined ? '' : ' (cpu-prof)'}`)
    cascade = await startChild({
      nodeFlags: profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`],
      script,
      args: upArgs,
      ready: READY_LINE,
      cwd: workDir,
    })
    const port = Number(READY_LINE.exec(cascade.readyLine)![2])
    const viaMixgate = await measurePath(() => socksDispatcher(port), origin, config, cascade.pid, log)
    // The parallel streams above share one circuit (one isolation key); these each have one,
    // which is what lets `up`'s hop threads use more than one core. The default profile keeps
    // three circuits per client and one is bound to the key without credentials already, so
    // that key and two SOCKS usernames: a fourth key would wait for a creation slot.
    const separate = Array.from({ length: SEPARATE_CIRCUITS }, (_, i) => i === 0 ? socksDispatcher(port) : socksDispatcher(port, `bench-${i}`))
    let separateCircuits
    try {
      separateCircuits = await measureSeparateStreams(separate, origin, config.parallelBytesEach, cascade.pid)
    } finally {
      for (const d of separate) await d.destroy().catch(() => {})
    }
    log(`  ${SEPARATE_CIRCUITS} streams, a circuit each: ${(separateCircuits.bytes / 2 ** 20).toFixed(0)} MiB in ${separateCircuits.seconds.toFixed(2)} s`)
    const cascadePid = cascade.pid
    const exit = await cascade.stop()
    cascade = undefined
    if (exit !== 0) log(`warning: ${label} exited with ${String(exit)} after SIGINT`)
    let profile: ProfileSummary | undefined
    if (profileDir !== undefined) {
      const file = existsSync(profileDir) ? readdirSync(profileDir).find((name) => name.endsWith('.cpuprofile')) : undefined
      if (file === undefined) log('warning: no CPU profile was written (did the child exit normally on SIGINT?)')
      else {
        const keep = join(dirname(outFile), `profile-${runStamp}.cpuprofile`)
        mkdirSync(dirname(keep), { recursive: true })
        writeFileSync(keep, readFileSync(join(profileDir, file)))
        profile = summarizeProfile(keep, ROOT)
        profile = { ...profile, file: relative(ROOT, keep) }
      }
    }

    log('one mix under synthetic load …')
    const mixLoad = await runMixLoad({
      cellSize: CELL_SIZE,
      hops: mixes + 1,
      circuits: 16,
      forwardCells: quick ? 10_000 : 60_000,
      backwardSeconds: quick ? 1 : 4,
      window: 2048,
    })

    const geometry = new Geometry({ cellSize: CELL_SIZE, hops: mixes + 1 })
    const cells = config.singleRuns * Math.ceil(config.singleBytes / geometry.backwardDataBytes)
    const upCpu = viaMixgate.single.cpu.child
    const upPerCell: UpPerCell = {
      method: `whole ${label} process CPU (/proc) over the single-stream downloads; cells = ceil(bytes / backwardDataBytes) per download; per hop = that CPU divided evenly by the hop count, although the client and the exit share it`,
      hops: geometry.hops,
      backwardDataBytes: geometry.backwardDataBytes,
      cells,
      upCpuSeconds: upCpu,
      cellsPerUpCpuSecond: cells / upCpu,
      cellsPerHopCpuSecond: cells / (upCpu / geometry.hops),
    }

    const paths = { direct, relay: relayed, mixgate: viaMixgate }
    const ratios = (p: PathResult): Record<string, number> => ({
      singleMbps: p.single.mbps / direct.single.mbps,
      parallelMbps: p.parallel.mbps / direct.parallel.mbps,
      freshP50: p.latencyFresh.p50Ms / direct.latencyFresh.p50Ms,
      freshP90: p.latencyFresh.p90Ms / direct.latencyFresh.p90Ms,
      keepAliveP50: p.latencyKeepAlive.p50Ms / direct.latencyKeepAlive.p50Ms,
      keepAliveP90: p.latencyKeepAlive.p90Ms / direct.latencyKeepAlive.p90Ms,
      cpuPerGBSingle: p.single.cpuSecondsPerGB / direct.single.cpuSecondsPerGB,
      cpuPerGBParallel: p.parallel.cpuSecondsPerGB / direct.parallel.cpuSecondsPerGB,
    })
    const result: BenchResult = {
      version: 1,
      date: new Date().toISOString(),
      quick,
      machine: { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', loadavgStart, loadavgEnd: loadavg() },
      config: { ...config, cellSize: CELL_SIZE, mixes },
      cascade: { source: 'mixgate up', label, command: `node ${relative(ROOT, script)} ${upArgs.join(' ')}`, pid: cascadePid, cpuProfiled: profileDir !== undefined },
      paths,
      ratiosToDirect: { relay: ratios(relayed), mixgate: ratios(viaMixgate) },
      layerCrypto,
      mixLoad,
      upPerCell,
      separateCircuits,
      ...(profile === undefined ? {} : { profile }),
    }
    console.log(renderReport(result))
    mkdirSync(dirname(outFile), { recursive: true })
    writeFileSync(outFile, `${JSON.stringify(result, null, 2)}\n`)
    console.log(`\nwritten: ${relative(process.cwd(), outFile)}`)
  } finally {
    await cascade?.stop()
    await relay?.close()
    await origin?.close()
    rmSync(workDir, { recursive: true, force: true })
  }
}

main().then(() => {
  // undici keeps idle sockets and timers alive for a while; the run is over.
  process.exit(0)
}, (err: unknown) => {
  console.error(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
  process.exit(1)
})
