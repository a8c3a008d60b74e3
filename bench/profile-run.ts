/**
 * One shaping profile measured end to end: `mixgate up --shaping P` as a child process, the
 * path measurements through its SOCKS port (measure-path.ts), streams on separate circuits,
 * optionally the browser page load, and the whole process's CPU per cell; then, on a second
 * `up` of its own, the held-streams phase and `up`'s memory around it. Stops each child
 * before it returns, also on error.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { Geometry } from '../src/protocol/geometry.js'
import { DEFAULT_SHAPING, type ShapingProfile } from '../src/protocol/shaping.js'
import { freePorts } from '../src/node/start/free-ports.js'
import { startChild, type BenchChild } from './child-process.js'
import { summarizeProfile, type ProfileSummary } from './cpu-profile.js'
import { cuts, socksDispatcher } from './http-client.js'
import { measurePath, measureSeparateStreams, mib, type PathConfig, type PathResult, type ThroughputResult } from './measure-path.js'
import type { Origin } from './origin.js'
import { measurePageLoad, type PageLoadResult } from './page-load.js'
import { describeHeldStreams, measureHeldStreams, type HeldStreamsPhase } from './held-streams-phase.js'
import { startSoakTarget } from '../lab/soak-target.js'
import { UP_OPEN_FILES, upLimitWrapper } from './open-file-limit.js'
import { launcherSettings } from './launcher-settings.js'
import { describeUpMemory, measureIdle, type UpMemory } from './up-memory-figures.js'

const READY_LINE = /^mixgate: SOCKS5 proxy listening on ([0-9.]+):([0-9]+) \(/
/** How a node names its crypto backend in its start log line (node.started … crypto). */
const CRYPTO_LOG = /crypto[":= ]+([a-z]+)/

export interface UpPerCell {
  readonly method: string
  readonly hops: number
  readonly backwardDataBytes: number
  /** Backward DATA cells of the single-stream downloads, estimated as ceil(bytes / backwardDataBytes). */
  readonly cells: number
  readonly upCpuSeconds: number
  readonly cellsPerUpCpuSecond: number
  readonly cellsPerHopCpuSecond: number
}

export interface ProfileRun {
  readonly profile: ShapingProfile
  readonly command: string
  readonly config: PathConfig
  /** The crypto backend the child's nodes logged (undefined if no log line named one). */
  readonly cryptoBackend: string | undefined
  readonly path: PathResult
  /** Streams at once, each on a circuit of its own (its own SOCKS username). */
  readonly separateCircuits: ThroughputResult & { readonly streams: number }
  /** Transfers of this profile cut by the connection and tried again (a circuit's scheduled end). */
  readonly cutTransfers: number
  readonly upPerCell: UpPerCell
  readonly pageLoad?: PageLoadResult
  /** Streams of one key held open at once (issue #17), measured last, on an `up` of their own. */
  readonly heldStreams?: HeldStreamsPhase
  /** The same through a cascade of one process per node (runHeldStreamsSeparate; `off` only, after `up` stopped). */
  readonly heldStreamsSeparate?: HeldStreamsPhase
  /** The held streams' `up`: its RSS idle before any traffic and once those streams have closed (issue #17). */
  readonly memory?: UpMemory
  readonly profileSummary?: ProfileSummary
}

export interface ProfileRunOptions {
  readonly root: string
  readonly workDir: string
  readonly profile: ShapingProfile
  readonly mixes: number
  /** `up --hop-threads N`; default: up's own (the cores but one). */
  readonly hopThreads?: number
  readonly cellSize: number
  readonly config: PathConfig
  readonly origin: Origin
  /** The page origin's port and loads per profile, when the browser is measured. */
  readonly page?: { readonly port: number, readonly loads: number }
  /** Where to keep a --cpu-prof profile, when one is asked for. */
  readonly cpuProfileFile?: string
  /** The held-streams phase: streams opened, and requests unanswered at once. */
  readonly heldStreams?: { readonly count: number, readonly inFlight: number }
  /** Where to keep `up`'s whole log (its stderr), when asked (`--keep-logs DIR`). */
  readonly logFile?: string
  /** Seconds `up` idles before the first measurement, and settles after the last stream closed (up-memory-figures.ts). */
  readonly memory?: { readonly idleS: number, readonly settleS: number }
  readonly log: (line: string) => void
}

/**
 * Streams measured on separate circuits: the key without credentials and SOCKS usernames,
 * eight in all. A shaped client keeps K = 12 circuits; soon after start some of them end
 * within seconds (start-up lanes end at their lane's next creation slot) and cut the
 * downloads on them, and a key whose retry then finds no spare waits for a creation slot
 * (50 s) until its SOCKS request times out: with twelve keys a quick bench, and with ten a
 * full one, failed so ("General SOCKS server failure"). Eight leave four spares.
 */
const SEPARATE_CIRCUITS = DEFAULT_SHAPING.elastic.circuits - 4

export async function runProfile (o: ProfileRunOptions): Promise<ProfileRun> {
  const profileDir = o.cpuProfileFile === undefined ? undefined : join(o.workDir, `profile-${o.profile}`)
  const { child: started, upArgs, script, wrapper } = await startUp(o, profileDir)
  let child: BenchChild | undefined = started
  try {
    // The nodes log their start lines before `up` prints its ready line; read them now, as
    // the child keeps only the end of its stderr.
    const cryptoBackend = CRYPTO_LOG.exec(child.stderrTail())?.[1]
    const port = Number(READY_LINE.exec(child.readyLine)![2])
    const cutsBefore = cuts.count
    const path = await measurePath(() => socksDispatcher(port), o.origin, o.config, child.pid, o.log)
    const separate = Array.from({ length: SEPARATE_CIRCUITS }, (_, i) => i === 0 ? socksDispatcher(port) : socksDispatcher(port, `bench-${i}`))
    let separateCircuits
    try {
      separateCircuits = await measureSeparateStreams(separate, o.origin, o.config.parallelBytesEach, child.pid)
    } finally {
      for (const d of separate) await d.destroy().catch(() => {})
    }
    o.log(`  ${SEPARATE_CIRCUITS} streams, a circuit each: ${mib(separateCircuits.bytes)} in ${separateCircuits.seconds.toFixed(2)} s`)
    let pageLoad: PageLoadResult | undefined
    if (o.page !== undefined) {
      pageLoad = await measurePageLoad(o.page.port, port, o.page.loads)
      o.log(`  page with 40 images in Chromium: p50 ${pageLoad.p50Ms.toFixed(0)} ms`)
    }
    const exit = await child.stop()
    child = undefined
    if (exit !== 0) o.log(`warning: mixgate up exited with ${String(exit)} after SIGINT`)
    const profileSummary = profileDir === undefined ? undefined : keepProfile(profileDir, o.cpuProfileFile!, o.root, o.log)
    const { heldStreams, memory } = o.heldStreams === undefined ? { heldStreams: undefined, memory: undefined } : await heldStreamsOnFreshUp(o, o.heldStreams)
    return {
      profile: o.profile,
      command: `${wrapper === undefined ? '' : `${wrapper.join(' ')} `}node ${relative(o.root, script)} ${upArgs.join(' ')}`,
      config: o.config,
      cryptoBackend,
      path,
      separateCircuits,
      cutTransfers: cuts.count - cutsBefore,
      upPerCell: perCell(path, o.config, o.mixes, o.cellSize),
      ...(pageLoad === undefined ? {} : { pageLoad }),
      ...(heldStreams === undefined ? {} : { heldStreams }),
      ...(memory === undefined ? {} : { memory }),
      ...(profileSummary === undefined ? {} : { profileSummary }),
    }
  } catch (err) {
    if (child !== undefined) o.log(`${o.profile}: failed; the end of mixgate up's stderr:\n${child.stderrTail().split('\n').slice(-10).join('\n')}`)
    throw err
  } finally {
    await child?.stop()
  }
}

/** `mixgate up --shaping P` as a child, ready. */
async function startUp (o: Pick<ProfileRunOptions, 'root' | 'workDir' | 'profile' | 'mixes' | 'hopThreads' | 'log' | 'logFile'>, profileDir?: string): Promise<{ child: BenchChild, upArgs: string[], script: string, wrapper: readonly string[] | undefined }> {
  const socksPort = (await freePorts('127.0.0.1', 1))[0]!
  const threads = o.hopThreads === undefined ? [] : ['--hop-threads', String(o.hopThreads)]
  const upArgs = ['up', '--mixes', String(o.mixes), ...threads, '--shaping', o.profile, '--socks', `127.0.0.1:${socksPort}`, '--exit-policy', 'accept 127.0.0.1:*']
  const script = join(o.root, 'bin/mixgate')
  const wrapper = upLimitWrapper()
  const launcher = launcherSettings(script)
  o.log(`${o.profile}: mixgate up --mixes ${o.mixes} ${threads.join(' ')}${threads.length === 0 ? '' : ' '}--shaping ${o.profile}${profileDir === undefined ? '' : ' (cpu-prof)'}` +
    (wrapper === undefined ? ' (open-file limit inherited: prlimit cannot raise it here)' : ` under prlimit --nofile=${UP_OPEN_FILES}`))
  const child = await startChild({
    ...(wrapper === undefined ? {} : { wrapper }),
    nodeFlags: [...launcher.nodeFlags, ...(profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`])],
    env: launcher.env,
    script,
    args: upArgs,
    ready: READY_LINE,
    cwd: o.workDir,
    ...(o.logFile === undefined ? {} : { stderrFile: o.logFile }),
  })
  return { child, upArgs, script, wrapper }
}

/**
 * The held-streams phase on an `up` of its own, and `up`'s memory around it: idle RSS before
 * any traffic, then the streams, then RSS once they closed and settled (issue #17: memory
 * returns to within 10 % of idle after the streams close). Not on the `up` of the transfers:
 * there the eight keys of "a circuit each" had taken most of the K circuits a shaped client
 * keeps (a circuit never serves another key after, so theirs served none of these streams
 * until the schedule ended them), and one key then held 6,620–6,720 of 10,000 elastic streams
 * over 230 s, as new circuits came and old ones cut their streams; a fresh `up` held all it
 * could (its open-file limit) in 40 s.
 */
async function heldStreamsOnFreshUp (o: Pick<ProfileRunOptions, 'root' | 'workDir' | 'profile' | 'mixes' | 'hopThreads' | 'log' | 'logFile' | 'memory'>, held: { count: number, inFlight: number }): Promise<{ heldStreams: HeldStreamsPhase, memory: UpMemory | undefined }> {
  const heldLog = o.logFile === undefined ? {} : { logFile: o.logFile.replace(/(\.[a-z]+)?$/, '-held$1') }
  const { child } = await startUp({ ...o, ...heldLog })
  try {
    const port = Number(READY_LINE.exec(child.readyLine)![2])
    if (o.memory !== undefined) o.log(`  ${o.memory.idleS} s idle, for up's idle RSS …`)
    const finishMemory = o.memory === undefined ? undefined : await measureIdle(child.pid, o.memory)
    const heldStreams = await heldStreamsOf(o, held, child, port)
    if (finishMemory !== undefined) o.log(`  ${o.memory!.settleS} s for the memory to settle …`)
    const memory = await finishMemory?.()
    if (memory !== undefined) o.log(`  ${describeUpMemory(memory)}`)
    return { heldStreams, memory }
  } catch (err) {
    o.log(`${o.profile}: failed; the end of mixgate up's stderr:\n${child.stderrTail().split('\n').slice(-10).join('\n')}`)
    throw err
  } finally {
    await child.stop()
  }
}

async function heldStreamsOf (o: Pick<ProfileRunOptions, 'root' | 'log' | 'profile'>, held: { count: number, inFlight: number }, child: BenchChild, port: number): Promise<HeldStreamsPhase> {
  const { count, inFlight } = held
  o.log(`  ${count} streams of one key held at once, ${inFlight} requests at a time …`)
  const result = await measureHeldStreams({ root: o.root, profile: o.profile, socksPort: port, layout: 'up', cascadePids: [child.pid], count, inFlight })
  o.log(`  ${describeHeldStreams(result)}`)
  return result
}

/**
 * Outbound sockets the exit may hold at once in the separate cascade: an operator who serves
 * ten thousand streams raises the default (4096, src/exit/limits.ts), as `up` does.
 */
const SEPARATE_EXIT_MAX_OUTBOUND = 65_536

/**
 * The held-streams phase through a cascade of one process per node (`mixgate mix|exit|client
 * --config`, lab/soak-target.ts), as on separate hosts. Why beside `up`'s: in `up` every
 * stream holds two descriptors of one process (the app's connection and the exit's), so its
 * open-file limit caps the streams at half of it (docs/CLIENT.md "The doors' cap"); here the
 * client and the exit each hold one per stream, so a host's usual limit serves 10,000.
 */
export async function runHeldStreamsSeparate (o: Pick<ProfileRunOptions, 'root' | 'profile' | 'mixes' | 'log'> & { heldStreams: { count: number, inFlight: number } }): Promise<HeldStreamsPhase> {
  o.log(`${o.profile}: a process per node (${o.mixes} mixes, the exit, the client), the exit's maxOutbound ${SEPARATE_EXIT_MAX_OUTBOUND}`)
  const target = await startSoakTarget('separate', o.profile, [], o.mixes, { [o.mixes + 1]: { maxOutbound: SEPARATE_EXIT_MAX_OUTBOUND } })
  try {
    const { count, inFlight } = o.heldStreams
    o.log(`  ${count} streams of one key held at once, ${inFlight} requests at a time …`)
    const result = await measureHeldStreams({ root: o.root, profile: o.profile, socksPort: target.socksPort, layout: 'separate', cascadePids: target.processes.map((p) => p.pid), count, inFlight })
    o.log(`  ${describeHeldStreams(result)}`)
    return result
  } finally {
    await target.stop()
  }
}

/** The held-streams phase alone (`npm run bench -- --held-streams-only`): `up`, the phase, stop. */
export async function runHeldStreamsOnly (o: Pick<ProfileRunOptions, 'root' | 'workDir' | 'profile' | 'mixes' | 'hopThreads' | 'log'> & { heldStreams: { count: number, inFlight: number } }): Promise<HeldStreamsPhase> {
  return (await heldStreamsOnFreshUp(o, o.heldStreams)).heldStreams
}

function perCell (path: PathResult, config: PathConfig, mixes: number, cellSize: number): UpPerCell {
  const geometry = new Geometry({ cellSize, hops: mixes + 1 })
  const cells = config.singleRuns * Math.ceil(config.singleBytes / geometry.backwardDataBytes)
  const upCpu = path.single.cpu.child
  return {
    method: 'whole mixgate up process CPU (/proc) over the single-stream downloads; cells = ceil(bytes / backwardDataBytes) per download; per hop = that CPU divided evenly by the hop count, although the client and the exit share it',
    hops: geometry.hops,
    backwardDataBytes: geometry.backwardDataBytes,
    cells,
    upCpuSeconds: upCpu,
    cellsPerUpCpuSecond: cells / upCpu,
    cellsPerHopCpuSecond: cells / (upCpu / geometry.hops),
  }
}

function keepProfile (profileDir: string, keep: string, root: string, log: (line: string) => void): ProfileSummary | undefined {
  const file = existsSync(profileDir) ? readdirSync(profileDir).find((name) => name.endsWith('.cpuprofile')) : undefined
  if (file === undefined) {
    log('warning: no CPU profile was written (did the child exit normally on SIGINT?)')
    return undefined
  }
  mkdirSync(dirname(keep), { recursive: true })
  writeFileSync(keep, readFileSync(join(profileDir, file)))
  return { ...summarizeProfile(keep, root), file: relative(root, keep) }
}
