/**
 * The embedded default behind `mixgate up`: a whole cascade on one host in this process —
 * N mixes, an exit and the client, free ports, and a signed cascade descriptor assembled
 * from the hops' own node descriptors, exactly as separate nodes would publish them.
 *
 * The hops (every mix and the exit) run in worker threads (src/node/threads/hop-thread.ts), so
 * that the OS can spread the hops' rounds over the cores; the client runs in this thread.
 * By default a thread per hop up to the cores but one (`hopThreads`, hop-thread-plan.ts):
 * on a machine with fewer cores the hops share threads, an isolate less each (issue #17).
 * Only small messages cross threads: each hop's sockets, cells and keys stay in its thread.
 *
 * Keys are in memory by default (a random identity and link key per hop, ephemeral onion
 * keys: nothing survives the process), made by each hop in its thread. With a state dir,
 * each hop's thread makes a key dir there by keygen and keeps durable onion keys in it, and
 * the set is written (state-dir.ts) so the same cascade can later run as separate
 * processes; the hops then also serve their admin ports. The client always serves its
 * admin port (`/healthz`, `/metrics`: what `mixgate status` reads).
 *
 * The client trusts the descriptor assembled at start and refreshes it before each epoch
 * change from the hops' current keys (asked of their threads), through the same checks as
 * a remote client.
 *
 * Nodes start from the exit backwards, each mix once its link to the next hop is up (a mix
 * refuses predecessors until then), and the client last, once the entry accepted its link:
 * when this resolves, a SOCKS request goes straight through. If anything fails on the way,
 * what started is stopped and every hop's thread ends before the error is thrown.
 */
import { isIP } from 'node:net'
import { join } from 'node:path'
import { cascadeFromVerified, type Cascade } from '../../directory/cascade.js'
import { SignedCascadeSource } from '../../directory/cascade-source.js'
import { createCascadeDescriptor, verifyCascadeDescriptor, type CascadeDescriptorJson } from '../../directory/signed-cascade.js'
import { formatHostPort, type HostPort } from '../../base/address.js'
import { createLogger, type Logger } from '../../base/logger.js'
import { freePorts } from './free-ports.js'
import { spawnHopThreads, type HopThread } from '../threads/hop-thread.js'
import { defaultHopThreads, hopGroups } from '../threads/hop-thread-plan.js'
import { DEFAULT_REPLAY_CAPACITY, type LogSettings } from './node-setup.js'
import { adminUrl, nodeName, writeStateSet } from './state-dir.js'
import { startNode, StartError, type StartedNode } from './start-node.js'
import { DEFAULT_SHAPING, DEFAULT_SHAPING_PROFILE, type ShapingParams } from '../../protocol/shaping.js'
import type { CascadeParams } from '../../protocol/cascade-params.js'
import { DEFAULT_PARAMS } from '../../directory/cascade-params-json.js'
import { defaultMaxConnections } from '../../client/door-cap.js'
import { collectGarbage, watchBursts } from '../burst-collector.js'

/**
 * The exit's caps in `up`: its hosts' connections are this machine's apps' streams, so the
 * outbound cap is not what bounds them (issue #17: 10 000 streams at once); the process's
 * open-file limit is (two descriptors per stream: the app's and the exit's).
 */
const UP_EXIT_LIMITS = { maxOutbound: 65_536 }
/**
 * The client's doors in `up` share the process's descriptors with the exit, so they take half
 * of what the reserve leaves (door-cap.ts): at the cap an app is refused at once (0x01), before
 * either side runs out. Read when `up` starts: `prlimit --nofile` or systemd's LimitNOFILE= raise it.
 */
function upMaxConnections (): number {
  return defaultMaxConnections({ sharedWithExit: true })
}

export interface EmbeddedOptions {
  readonly mixes: number
  readonly roundMs: number
  /** Onion-key epoch length in seconds (default 3600). */
  readonly epochS?: number
  /** The cascade's traffic shaping (default: DEFAULT_SHAPING_PROFILE's parameters). */
  readonly shaping?: ShapingParams
  readonly cellSize?: number
  /** The client's SOCKS address; port 0 picks a free port. */
  readonly socks: HostPort
  /** The client's HTTP CONNECT door, if any; port 0 picks a free port. */
  readonly http?: HostPort
  /** The client's admin address (loopback; default port 0: a free port). */
  readonly clientAdmin?: HostPort
  /** Operator rules in front of the exit's default policy. */
  readonly exitPolicy: readonly string[]
  readonly dnsServers: readonly string[]
  readonly log: LogSettings
  /** Keep the cascade here (prepared by prepareStateDir): key dirs, configs, cascade.json. */
  readonly stateDir?: string
  /** How long each node may take to reach the next (default 10 s). */
  readonly readyTimeoutMs?: number
  /** Worker threads the hops share, at most one per hop (default: defaultHopThreads). */
  readonly hopThreads?: number
}

export interface EmbeddedCascade {
  /** The cascade as assembled at start. */
  readonly cascade: Cascade
  readonly descriptor: CascadeDescriptorJson
  /** The SOCKS address, with the real port. */
  readonly socks: HostPort
  /** The HTTP CONNECT address, with the real port (if one was asked for). */
  readonly http?: HostPort
  /** The client's admin URL (`http://127.0.0.1:PORT`). */
  readonly clientAdminUrl: string
  /** The exit's operator rules as used: the SOCKS port's refusal, then the given rules. */
  readonly exitPolicy: readonly string[]
  /** In start order: exit, mixes from last to first, client. */
  readonly nodes: readonly StartedNode[]
  /** How many worker threads the hops run in. */
  readonly hopThreads: number
  /** Resolves if a hop's thread dies unexpectedly (logged as `node.crashed`); else never. */
  readonly crashed: Promise<Error>
  /** The labels of the hops whose thread has not yet ended (`exit`, `mix[1]` …). */
  runningThreads (): string[]
  /** Resolves once every hop thread has ended (never, for one that cannot be ended). */
  readonly threadsEnded: Promise<void>
  /** Terminate every hop thread still running, at once (HopWorker.terminate). */
  terminateThreads (reason: string): void
}

const HOST = '127.0.0.1'

/** The free ports a cascade uses: links in hop order, SOCKS, HTTP, the client's admin, and with a state dir the hops' admin ports. */
interface PortPlan {
  readonly links: readonly HostPort[]
  readonly socks: HostPort
  readonly http?: HostPort
  readonly clientAdmin: HostPort
  /** The hops', in order. */
  readonly admins?: readonly HostPort[]
}

export async function startEmbeddedCascade (options: EmbeddedOptions): Promise<EmbeddedCascade> {
  const hopCount = options.mixes + 1
  const readyTimeoutMs = options.readyTimeoutMs ?? 10_000
  const params: CascadeParams = {
    cellSize: options.cellSize ?? DEFAULT_PARAMS.cellSize,
    roundMs: options.roundMs,
    epochS: options.epochS ?? DEFAULT_PARAMS.epochS,
    genesis: DEFAULT_PARAMS.genesis,
    shaping: options.shaping ?? DEFAULT_SHAPING[DEFAULT_SHAPING_PROFILE],
  }
  const stateDir = options.stateDir
  const log = (label: string): Logger => createLogger({ role: label, level: options.log.level, format: options.log.format })
  const labelOf = (position: number): string => position === hopCount ? 'exit' : `mix[${position}]`

  const groups = hopGroups(hopCount, options.hopThreads ?? defaultHopThreads(hopCount, (options.shaping ?? DEFAULT_SHAPING[DEFAULT_SHAPING_PROFILE]).profile))
  // In hop order, whichever thread each runs in.
  const threads: HopThread[] = []
  const nodes: StartedNode[] = []
  try {
    // The threads, their hops' code loaded before the ports are chosen: the shorter the time
    // between finding a port free and listening on it, the less likely another takes it.
    for (const positions of groups) {
      const hops = positions.map((position) => ({ label: labelOf(position), logger: log(labelOf(position)), role: position === hopCount ? 'exit' as const : 'mix' as const }))
      spawnHopThreads(hops).forEach((thread, i) => { threads[positions[i]! - 1] = thread })
    }
    await allOrFirstError(threads.map(async (thread) => await thread.booted))
    const plan = await planPorts(hopCount, options.socks, options.http, options.clientAdmin ?? { host: HOST, port: 0 }, stateDir !== undefined)
    const { socks, http, clientAdmin } = plan
    // With `accept 127.0.0.1:*` the exit could otherwise be told to connect to our own SOCKS
    // or HTTP port, and each such stream would open another one through the cascade, without
    // end. The nodes' admin ports likewise (R12): no stream may reach a node's own services.
    const exitPolicy = [...socksRejects(socks), ...(http === undefined ? [] : rejectsFor(http)), ...[...(plan.admins ?? []), clientAdmin].flatMap(rejectsFor), ...options.exitPolicy]
    const adminUrls = plan.admins?.map(adminUrl)

    // Every hop makes its keys in its thread, all at once, and signs its node descriptor.
    const described = await allOrFirstError(threads.map(async (thread, i) => {
      const position = i + 1
      const role = position === hopCount ? 'exit' : 'mix'
      return await thread.prepare({
        label: thread.label,
        position,
        described: { role, address: plan.links[i]!, params },
        log: options.log,
        ...(stateDir === undefined ? {} : { keyDir: join(stateDir, nodeName(position, hopCount)) }),
        replayCapacity: DEFAULT_REPLAY_CAPACITY,
        ...(plan.admins === undefined ? {} : { admin: plan.admins[i]! }),
        ...(position === 1 && adminUrls !== undefined ? { peers: adminUrls.slice(1, hopCount) } : {}),
        ...(role === 'exit' ? { exitPolicy, dnsServers: options.dnsServers, limits: UP_EXIT_LIMITS } : {}),
      })
    }))
    const descriptor = createCascadeDescriptor(described)
    // Verified here once: the hop threads start from this result and load no schema code.
    const verified = verifyCascadeDescriptor(descriptor)
    const cascade = cascadeFromVerified(verified)
    if (stateDir !== undefined) {
      await writeStateSet(stateDir, {
        cascade: descriptor,
        params,
        hops: plan.links.map((address, i) => ({ position: i + 1, role: i + 1 === hopCount ? 'exit' : 'mix', address, admin: plan.admins![i]! })),
        exitPolicy,
        socks,
        ...(http === undefined ? {} : { http }),
        clientAdmin,
        log: options.log,
      })
    }

    nodes.push(await threads[hopCount - 1]!.start(verified))
    for (let position = options.mixes; position >= 1; position--) {
      const mix = threads[position - 1]!
      nodes.push(await mix.start(verified))
      if (!await mix.successorWithin(readyTimeoutMs)) {
        throw new StartError('CLI_NOT_READY', `mix ${position} did not reach ${position === options.mixes ? 'the exit' : `mix ${position + 1}`} within ${readyTimeoutMs} ms`)
      }
    }
    const clientLogger = log('client')
    const client = await startNode({
      role: 'client',
      label: 'client',
      log: options.log,
      options: { socks, ...(http === undefined ? {} : { http }), maxConnections: upMaxConnections() },
      admin: clientAdmin,
      openCascade: (logger) => SignedCascadeSource.open({
        anchor: descriptor,
        fetch: async () => createCascadeDescriptor(await Promise.all(threads.map(async (thread) => await thread.describe()))),
        logger,
      }),
    }, clientLogger, { collectAfterBursts: false })
    // After a burst of closed streams every thread collects, the client's too, shaped or not:
    // no link of `up`'s leaves the process, so the pause shows on no wire (burst-collector.ts).
    // One thread after another: at once, on 2 cores, each pause took 75–220 ms instead of 40–70.
    const collector = watchBursts({
      count: client.appConnections!,
      logger: clientLogger,
      onBurstEnd: (streamsFreed) => {
        void (async () => {
          for (const positions of groups) await threads[positions[0]! - 1]!.collect(streamsFreed).catch(() => {})
          collectGarbage(clientLogger, { streamsFreed })
        })()
      },
    })
    nodes.push({ ...client, stop: async () => { collector.stop(); await client.stop() } })
    await client.waitForEntry!(readyTimeoutMs).catch((err: unknown) => {
      throw new StartError('CLI_NOT_READY', `the client could not reach mix 1 within ${readyTimeoutMs} ms`, { cause: err })
    })
    return {
      cascade,
      descriptor,
      socks,
      ...(http === undefined ? {} : { http }),
      clientAdminUrl: client.adminUrl!,
      exitPolicy,
      nodes,
      hopThreads: groups.length,
      crashed: Promise.race(threads.map(async (thread) => await thread.crashed)),
      runningThreads: () => threads.filter((thread) => thread.isRunning).map((thread) => thread.label),
      threadsEnded: Promise.all(threads.map(async (thread) => await thread.ended)).then(() => {}),
      terminateThreads: (reason) => { for (const thread of threads) thread.terminate(reason) },
    }
  } catch (err) {
    // The client (if it started), then every hop thread, started or not: each wipes its keys and ends.
    if (nodes.at(-1)?.role === 'client') await nodes.at(-1)!.stop().catch(() => {})
    for (const thread of [...threads].reverse()) await thread?.stop().catch(() => {})
    throw err
  }
}

async function planPorts (hopCount: number, socks: HostPort, http: HostPort | undefined, clientAdmin: HostPort, withAdmins: boolean): Promise<PortPlan> {
  const wanted = [socks, http, clientAdmin].filter((address) => address?.port === 0).length
  const ports = await freePorts(HOST, hopCount + wanted + (withAdmins ? hopCount : 0))
  const at = (port: number): HostPort => ({ host: HOST, port })
  let next = hopCount
  const fill = (address: HostPort): HostPort => address.port === 0 ? { host: address.host, port: ports[next++]! } : address
  const plan = {
    links: ports.slice(0, hopCount).map(at),
    socks: fill(socks),
    ...(http === undefined ? {} : { http: fill(http) }),
    clientAdmin: fill(clientAdmin),
  }
  return withAdmins ? { ...plan, admins: ports.slice(next).map(at) } : plan
}

/** Wait for every promise (so nothing is left running), then throw the first failure. */
async function allOrFirstError<T> (promises: ReadonlyArray<Promise<T>>): Promise<T[]> {
  const settled = await Promise.allSettled(promises)
  const failed = settled.find((s) => s.status === 'rejected')
  if (failed !== undefined) throw failed.reason
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value)
}

/** Exit policy rules refusing the SOCKS address (for an unspecified address: loopback). */
function socksRejects (socks: HostPort): string[] {
  return rejectsFor(socks)
}

/** Exit policy rules that refuse one of our own listening addresses. */
function rejectsFor (address: HostPort): string[] {
  const family = isIP(address.host)
  if (family === 0) return []
  if (address.host === '0.0.0.0' || address.host === '::') return [`reject 127.0.0.1:${address.port}`, `reject [::1]:${address.port}`]
  return [`reject ${formatHostPort(address)}`]
}

