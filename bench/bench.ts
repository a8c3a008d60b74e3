/**
 * `npm run bench`: what the cascade costs per shaping profile, against baselines measured in
 * the same run.
 *
 * One run, on loopback, against a local node:http origin serving from memory:
 *   baselines: direct, a trivial in-process SOCKS5 relay (socks-relay.ts) and microsocks when
 *     Debian's package is installed (microsocks.ts);
 *   then per profile (off, strict, elastic): `mixgate up --mixes 3 --shaping P` as a child
 *     process (profile-run.ts; its CPU from /proc);
 * each measured for 1 KiB latency (new connection per request, and kept alive; first, from
 * an idle circuit), single-stream and 8-stream throughput (every byte checked) and CPU
 * seconds per GB over every process; with Chromium installed, a 40-image page load
 * (page-load.ts) straight and through each profile; last, N streams of one key held open at
 * once (held-streams-phase.ts: how many were served, RSS per stream of each process; for
 * `off` also through one process per node). Then the per-cell figures: layer crypto
 * alone (layer-crypto.ts, the ceiling) and one mix in its own process under synthetic load
 * (mix-load.ts). Prints a table with ratios, the issue targets beside the figures
 * (targets.ts), and writes JSON (bench/results/bench-<date>.json, or --out). Not a test: it
 * asserts nothing, but exits non-zero if a transfer fails or returns wrong bytes (a profile
 * that fails is reported and the others still run), and stops every process it started,
 * also on error. docs/BENCH.md explains every figure.
 *
 *   npm run bench [-- --quick] [--profile P] [--out FILE] [--cpu-prof] [--mixes N] [--hop-threads N] [--no-browser]
 *                 [--streams N] [--held-streams-only [--separate-processes]] [--keep-logs DIR]
 *
 * --quick       smaller transfers, fewer requests and shorter phases (a few minutes).
 * --profile P   measure only this profile (off, strict or elastic).
 * --cpu-prof    run each `up` child with node --cpu-prof and print its hot spots.
 * --mixes N     mixes in the measured cascade (default 3).
 * --hop-threads N  `up --hop-threads N` (default: up's own, the cores but one).
 * --no-browser  skip the Chromium page loads.
 * --streams N   streams held at once in the held-streams phase (default 10000; --quick 1000).
 * --held-streams-only  run only the held-streams phase, per profile: printed, and written to
 *               bench/results/held-streams-<date>.json (or --out).
 * --separate-processes  with --held-streams-only: through a cascade of one process per node
 *               (mixgate mix|exit|client --config) instead of `up`. The full bench runs both
 *               for `off`: in `up` the open-file limit caps the streams at half of it.
 * --keep-logs DIR  keep each profile's whole `up` log (its stderr) in DIR/up-<date>-<profile>.log.
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { cryptoBackend, cryptoReady } from '../src/crypto/index.js'
import { SHAPING_PROFILES, type ShapingProfile } from '../src/protocol/shaping.js'
import type { BenchResult, Ratios } from './bench-result.js'
import { directDispatcher, socksDispatcher } from './http-client.js'
import { measureLayerCrypto } from './layer-crypto.js'
import { measurePath, type PathConfig, type PathResult } from './measure-path.js'
import { startMicrosocks, MICROSOCKS, type Microsocks } from './microsocks.js'
import { runMixLoad } from './mix-load.js'
import { startOrigin, type Origin } from './origin.js'
import { chromiumAvailable, CHROMIUM, measurePageLoad, startPageOrigin } from './page-load.js'
import { runHeldStreamsOnly, runHeldStreamsSeparate, runProfile, type ProfileRun } from './profile-run.js'
import { describeHeldStreams, type HeldStreamsPhase } from './held-streams-phase.js'
import { renderReport } from './report.js'
import { startSocksRelay, type SocksRelay } from './socks-relay.js'
import { checkTargets } from './targets.js'
import { memoryWaits } from './up-memory-figures.js'
import type { LoopbackServer } from './loopback-server.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const CELL_SIZE = 2048 // `mixgate up`'s default cell size
const MiB = 2 ** 20

const USAGE = `usage: npm run bench [-- --quick] [--profile P] [--out FILE] [--cpu-prof] [--mixes N] [--hop-threads N] [--no-browser]
                 [--streams N] [--held-streams-only [--separate-processes]] [--keep-logs DIR]
(each option is explained at the top of bench/bench.ts and in docs/BENCH.md)`

function parseBenchArgs (): ReturnType<typeof parseOptions> {
  try {
    return parseOptions()
  } catch (err) {
    console.error(`bench: ${(err as Error).message}\n${USAGE}`)
    process.exit(2)
  }
}

function parseOptions () {
  return parseArgs({
    options: {
      help: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      profile: { type: 'string' },
      out: { type: 'string' },
      'cpu-prof': { type: 'boolean', default: false },
      mixes: { type: 'string', default: '3' },
      'hop-threads': { type: 'string' },
      'no-browser': { type: 'boolean', default: false },
      streams: { type: 'string' },
      'held-streams-only': { type: 'boolean', default: false },
      'separate-processes': { type: 'boolean', default: false },
      'keep-logs': { type: 'string' },
    },
  })
}

const { values: args } = parseBenchArgs()
if (args.help!) {
  console.log(USAGE)
  process.exit(0)
}
const quick = args.quick!
const mixes = Number(args.mixes)
const hopThreads = args['hop-threads'] === undefined ? {} : { hopThreads: Number(args['hop-threads']) }
if (hopThreads.hopThreads !== undefined && !(Number.isInteger(hopThreads.hopThreads) && hopThreads.hopThreads >= 1)) {
  console.error(`bench: --hop-threads must be a positive integer, got ${String(args['hop-threads'])}`)
  process.exit(2)
}
if (args.profile !== undefined && !(SHAPING_PROFILES as readonly string[]).includes(args.profile)) {
  console.error(`bench: --profile must be one of ${SHAPING_PROFILES.join(', ')}, got ${args.profile}`)
  process.exit(2)
}
const profiles: readonly ShapingProfile[] = args.profile === undefined ? SHAPING_PROFILES : [args.profile as ShapingProfile]

const BASELINE: PathConfig = quick
  ? { singleBytes: 8 * MiB, singleRuns: 1, parallelStreams: 8, parallelBytesEach: 1 * MiB, latencyRequests: 20 }
  : { singleBytes: 64 * MiB, singleRuns: 5, parallelStreams: 8, parallelBytesEach: 16 * MiB, latencyRequests: 50 }

/**
 * Transfer sizes per profile. strict carries one cell per round per circuit, ≈ 200 KB/s: the
 * baseline's 64 MiB would take minutes, so it moves 1/32 in one stream and 1/128 in each of the
 * eight (the figures are rates). Each transfer then ends well within the 24 s a shaped circuit
 * guarantees a new stream (docs/CLIENT.md "Lanes and lifetimes"); longer ones were cut.
 */
function configFor (profile: ShapingProfile): PathConfig {
  if (profile !== 'strict') return BASELINE
  return { ...BASELINE, singleBytes: BASELINE.singleBytes / 32, singleRuns: Math.min(BASELINE.singleRuns, 2), parallelBytesEach: BASELINE.parallelBytesEach / 128 }
}
const PAGE_LOADS = quick ? 1 : 3
/** The held-streams phase (issue #17: 10 000 streams through `up`), a hundred requests unanswered at a time. */
const HELD_STREAMS = { count: Number(args.streams ?? (quick ? 1000 : 10_000)), inFlight: 100 }
if (!(Number.isInteger(HELD_STREAMS.count) && HELD_STREAMS.count > 0)) {
  console.error(`bench: --streams must be a positive integer, got ${String(args.streams)}`)
  process.exit(2)
}

const log = (line: string): void => { process.stderr.write(`${line}\n`) }

// A signal must still stop the children: exiting runs child-process.ts's 'exit' hook.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130))

function stamp (): string {
  return new Date().toISOString().replace(/:/g, '-').replace(/\..*$/, '')
}

function ratios (p: PathResult, base: PathResult): Ratios {
  return {
    singleMbps: p.single.mbps / base.single.mbps,
    parallelMbps: p.parallel.mbps / base.parallel.mbps,
    freshP50: p.latencyFresh.p50Ms / base.latencyFresh.p50Ms,
    freshP90: p.latencyFresh.p90Ms / base.latencyFresh.p90Ms,
    keepAliveP50: p.latencyKeepAlive.p50Ms / base.latencyKeepAlive.p50Ms,
    keepAliveP90: p.latencyKeepAlive.p90Ms / base.latencyKeepAlive.p90Ms,
    cpuPerGBSingle: p.single.cpuSecondsPerGB / base.single.cpuSecondsPerGB,
    cpuPerGBParallel: p.parallel.cpuSecondsPerGB / base.parallel.cpuSecondsPerGB,
  }
}

/** `--held-streams-only`: each profile's held-streams phase, printed and written as JSON. */
async function heldStreamsOnly (): Promise<void> {
  const workDir = mkdtempSync(join(tmpdir(), 'mixgate-bench-'))
  const outFile = args.out ?? join(ROOT, 'bench/results', `held-streams-${stamp()}.json`)
  const loadavgStart = loadavg()
  const phases: Partial<Record<ShapingProfile, HeldStreamsPhase | { error: string }>> = {}
  try {
    log(`load average ${loadavgStart.map((l) => l.toFixed(2)).join(' ')}`)
    for (const profile of profiles) {
      try {
        const result = args['separate-processes']
          ? await runHeldStreamsSeparate({ root: ROOT, profile, mixes, log, heldStreams: HELD_STREAMS })
          : await runHeldStreamsOnly({ root: ROOT, workDir, profile, mixes, ...hopThreads, log, heldStreams: HELD_STREAMS })
        phases[profile] = result
        console.log(`${profile}: ${describeHeldStreams(result)}`)
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err)
        phases[profile] = { error }
        log(`${profile}: FAILED: ${error}`)
        process.exitCode = 1
      }
    }
    const loadavgEnd = loadavg()
    log(`load average ${loadavgEnd.map((l) => l.toFixed(2)).join(' ')}`)
    mkdirSync(dirname(outFile), { recursive: true })
    writeFileSync(outFile, `${JSON.stringify({ date: new Date().toISOString(), mixes, streams: HELD_STREAMS, loadavgStart, loadavgEnd, heldStreams: phases }, null, 2)}\n`)
    console.log(`written: ${relative(process.cwd(), outFile)}`)
  } finally {
    rmSync(workDir, { recursive: true, force: true })
  }
}

async function main (): Promise<void> {
  await cryptoReady()
  if (args['held-streams-only']) { await heldStreamsOnly(); return }
  const loadavgStart = loadavg()
  if (loadavgStart[0]! > 0.5) log(`warning: load average ${loadavgStart[0]!.toFixed(2)} at start: other work on this machine skews wall-clock figures (CPU figures less so)`)
  const runStamp = stamp()
  if (args['keep-logs'] !== undefined) mkdirSync(args['keep-logs'], { recursive: true })
  const outFile = args.out ?? join(ROOT, 'bench/results', `bench-${runStamp}.json`)
  const browser = !args['no-browser'] && chromiumAvailable()
  if (!args['no-browser'] && !browser) log(`note: ${CHROMIUM} is missing: no page loads this run`)

  const failures: Array<{ profile: ShapingProfile, error: string }> = []
  let origin: Origin | undefined
  let relay: SocksRelay | undefined
  let microsocks: Microsocks | undefined
  let pageOrigin: LoopbackServer | undefined
  const workDir = mkdtempSync(join(tmpdir(), 'mixgate-bench-'))
  try {
    log(`origin: ${(BASELINE.singleBytes / MiB).toFixed(0)} MiB body in memory`)
    origin = await startOrigin(Math.max(BASELINE.singleBytes, BASELINE.parallelBytesEach, MiB))
    if (browser) pageOrigin = await startPageOrigin()

    log('layer crypto …')
    const layerCrypto = measureLayerCrypto({ cellSize: CELL_SIZE, hops: mixes + 1, minSeconds: quick ? 0.2 : 1 })

    log('baseline: direct')
    const direct = await measurePath(directDispatcher, origin, BASELINE, undefined, log)
    const pageLoadDirect = pageOrigin === undefined ? undefined : await measurePageLoad(pageOrigin.port, undefined, PAGE_LOADS)
    if (pageLoadDirect !== undefined) log(`  page with 40 images in Chromium: p50 ${pageLoadDirect.p50Ms.toFixed(0)} ms`)

    log('baseline: SOCKS relay')
    relay = await startSocksRelay()
    const relayPort = relay.port
    const relayed = await measurePath(() => socksDispatcher(relayPort), origin, BASELINE, undefined, log)
    await relay.close()
    relay = undefined

    microsocks = await startMicrosocks()
    let viaMicrosocks: PathResult | undefined
    if (microsocks === undefined) log(`baseline: microsocks not installed (${MICROSOCKS}; Debian package microsocks): skipped`)
    else {
      log('baseline: microsocks')
      const m = microsocks
      viaMicrosocks = await measurePath(() => socksDispatcher(m.port), origin, BASELINE, m.pid, log)
      await m.stop()
      microsocks = undefined
    }

    const runs: Partial<Record<ShapingProfile, ProfileRun>> = {}
    for (const profile of profiles) {
      try {
        runs[profile] = await runProfile({
        root: ROOT,
        workDir,
        profile,
        mixes,
        ...hopThreads,
        cellSize: CELL_SIZE,
        config: configFor(profile),
        origin,
        ...(pageOrigin === undefined ? {} : { page: { port: pageOrigin.port, loads: PAGE_LOADS } }),
        ...(args['cpu-prof'] ? { cpuProfileFile: join(dirname(outFile), `profile-${runStamp}-${profile}.cpuprofile`) } : {}),
        heldStreams: HELD_STREAMS,
        memory: memoryWaits(quick),
        ...(args['keep-logs'] === undefined ? {} : { logFile: join(args['keep-logs'], `up-${runStamp}-${profile}.log`) }),
        log,
        })
        if (profile === 'off') runs.off = { ...runs.off!, heldStreamsSeparate: await runHeldStreamsSeparate({ root: ROOT, profile, mixes, log, heldStreams: HELD_STREAMS }) }
      } catch (err) {
        // One profile failing (a transfer cut or wrong) must not hide the others' figures.
        failures.push({ profile, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) })
        log(`${profile}: FAILED: ${failures.at(-1)!.error}`)
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

    const result: BenchResult = {
      version: 2,
      date: new Date().toISOString(),
      quick,
      machine: { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', loadavgStart, loadavgEnd: loadavg() },
      cryptoBackend: cryptoBackend(),
      config: { baseline: BASELINE, cellSize: CELL_SIZE, mixes, ...hopThreads },
      baselines: { direct, relay: relayed, ...(viaMicrosocks === undefined ? {} : { microsocks: viaMicrosocks }) },
      profiles: runs,
      ratios: Object.fromEntries(Object.entries(runs).map(([p, run]) => [p, { toDirect: ratios(run.path, direct), toRelay: ratios(run.path, relayed) }])),
      ...(pageLoadDirect === undefined ? {} : { pageLoadDirect }),
      layerCrypto,
      mixLoad,
      targets: checkTargets(runs, { layerCrypto, mixLoad }),
      failures,
    }
    console.log(renderReport(result))
    mkdirSync(dirname(outFile), { recursive: true })
    writeFileSync(outFile, `${JSON.stringify(result, null, 2)}\n`)
    console.log(`\nwritten: ${relative(process.cwd(), outFile)}`)
    if (failures.length > 0) process.exitCode = 1
  } finally {
    await microsocks?.stop()
    await relay?.close()
    await pageOrigin?.close()
    await origin?.close()
    rmSync(workDir, { recursive: true, force: true })
  }
}

main().then(() => {
  // undici keeps idle sockets and timers alive for a while; the run is over.
  process.exit(process.exitCode ?? 0)
}, (err: unknown) => {
  console.error(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
  process.exit(1)
})
