/**
 * The embedded default behind `mixgate up`: a whole cascade on one host in this process —
 * N mixes, an exit and the client, free ports, and a signed cascade descriptor assembled
 * from the hops' own node descriptors, exactly as separate nodes would publish them.
 *
 * Keys are in memory by default (a random identity and link key per hop, ephemeral onion
 * keys: nothing survives the process). With a state dir, each hop gets a key dir made by
 * keygen and durable onion keys there, and the set is written (state-dir.ts) so the same
 * cascade can later run as separate processes; the hops then also serve their admin ports.
 *
 * The client trusts the descriptor assembled at start and refreshes it before each epoch
 * change from the hops' current keys, through the same checks as a remote client.
 *
 * Nodes start from the exit backwards, each mix once its link to the next hop is up (a mix
 * refuses predecessors until then), and the client last, once the entry accepted its link:
 * when this resolves, a SOCKS request goes straight through.
 */
import { isIP } from 'node:net'
import { join } from 'node:path'
import { ed25519KeyPair, memzero, randomBytes, x25519KeyPair } from '../crypto/index.js'
import { cascadeFromVerified, type Cascade } from '../directory/cascade.js'
import { SignedCascadeSource } from '../directory/cascade-source.js'
import { createCascadeDescriptor, verifyCascadeDescriptor, type CascadeDescriptorJson } from '../directory/signed-cascade.js'
import { formatHostPort, type HostPort } from '../node/address.js'
import { epochSchedule } from '../node/keys/epoch.js'
import { keygen, loadIdentity, wipeIdentity, type NodeIdentity } from '../node/keys/identity.js'
import { ephemeralOnionKeys, openDurableOnionKeys, type OnionKeySource } from '../node/keys/onion-key-source.js'
import { createLogger, type Logger } from '../node/logger.js'
import { freePorts } from './free-ports.js'
import { describeHop, type DescribedHop } from './node-descriptor.js'
import { DEFAULT_REPLAY_CAPACITY, type HopSetup, type LogSettings, type NodeSetup } from './node-setup.js'
import { adminUrl, nodeName, writeStateSet } from './state-dir.js'
import { startNode, StartError, type StartedNode } from './start-node.js'
import { DEFAULT_SHAPING, DEFAULT_SHAPING_PROFILE, type ShapingParams } from '../protocol/shaping.js'

export interface EmbeddedOptions {
  readonly mixes: number
  readonly roundMs: number
  /** Onion-key epoch length in seconds (default 3600). */
  readonly epochS?: number
  /** The cascade's traffic shaping (default: DEFAULT_SHAPING_PROFILE's parameters). */
  readonly shaping?: ShapingParams
  readonly cellSize?: number
  /** The client's SOCKS5 address; port 0 picks a free port. */
  readonly socks: HostPort
  /** Operator rules in front of the exit's default policy. */
  readonly exitPolicy: readonly string[]
  readonly dnsServers: readonly string[]
  readonly log: LogSettings
  /** Keep the cascade here (prepared by prepareStateDir): key dirs, configs, cascade.json. */
  readonly stateDir?: string
  /** How long each node may take to reach the next (default 10 s). */
  readonly readyTimeoutMs?: number
}

export interface EmbeddedCascade {
  /** The cascade as assembled at start. */
  readonly cascade: Cascade
  readonly descriptor: CascadeDescriptorJson
  /** The SOCKS5 address, with the real port. */
  readonly socks: HostPort
  /** The exit's operator rules as used: the SOCKS port's refusal, then the given rules. */
  readonly exitPolicy: readonly string[]
  /** In start order: exit, mixes from last to first, client. */
  readonly nodes: readonly StartedNode[]
}

const HOST = '127.0.0.1'

interface PreparedHop {
  readonly described: DescribedHop
  readonly keys: NodeIdentity
  readonly onionKeys: OnionKeySource
  readonly admin?: HostPort
  describe (): ReturnType<typeof describeHop>
}

export async function startEmbeddedCascade (options: EmbeddedOptions): Promise<EmbeddedCascade> {
  const hopCount = options.mixes + 1
  const readyTimeoutMs = options.readyTimeoutMs ?? 10_000
  const params = { cellSize: options.cellSize ?? 2048, roundMs: options.roundMs, epochS: options.epochS ?? 3600, genesis: 0, shaping: options.shaping ?? DEFAULT_SHAPING[DEFAULT_SHAPING_PROFILE] }
  const schedule = epochSchedule({ epochS: params.epochS, genesisS: params.genesis })
  const wantFreeSocks = options.socks.port === 0
  const stateDir = options.stateDir
  // Link ports, then the SOCKS port if free, then (with a state dir) an admin port per node.
  const ports = await freePorts(HOST, hopCount + (wantFreeSocks ? 1 : 0) + (stateDir === undefined ? 0 : hopCount + 1))
  const socks = wantFreeSocks ? { host: options.socks.host, port: ports[hopCount]! } : options.socks
  const adminPorts = ports.slice(hopCount + (wantFreeSocks ? 1 : 0))
  const log = (label: string): Logger => createLogger({ role: label, level: options.log.level, format: options.log.format })
  const labelOf = (position: number): string => position === hopCount ? 'exit' : `mix[${position}]`
  const loggers = Array.from({ length: hopCount }, (_, i) => log(labelOf(i + 1)))

  const hops: PreparedHop[] = []
  const nodes: StartedNode[] = []
  try {
    for (let position = 1; position <= hopCount; position++) {
      const described: DescribedHop = { role: position === hopCount ? 'exit' : 'mix', address: { host: HOST, port: ports[position - 1]! }, ...params }
      const logger = loggers[position - 1]!
      let keys: NodeIdentity
      let onionKeys: OnionKeySource
      if (stateDir === undefined) {
        const seed = randomBytes(32)
        keys = { identity: ed25519KeyPair(seed), link: x25519KeyPair() }
        memzero(seed)
        onionKeys = ephemeralOnionKeys({ schedule, logger })
      } else {
        const dir = join(stateDir, nodeName(position, hopCount))
        await keygen(dir)
        keys = await loadIdentity(dir)
        onionKeys = await openDurableOnionKeys({ dir, schedule, capacity: DEFAULT_REPLAY_CAPACITY, logger })
      }
      const admin = stateDir === undefined ? undefined : { host: HOST, port: adminPorts[position - 1]! }
      hops.push({
        described,
        keys,
        onionKeys,
        ...(admin === undefined ? {} : { admin }),
        describe: () => describeHop(described, keys.identity, keys.link.publicKey, onionKeys.publicKeys(), Date.now() / 1000),
      })
    }
    const descriptor = createCascadeDescriptor(hops.map((hop) => hop.describe()))
    const verified = verifyCascadeDescriptor(descriptor)
    const cascade = cascadeFromVerified(verified)
    // With `accept 127.0.0.1:*` the exit could otherwise be told to connect to our own SOCKS
    // port, and each such stream would open another one through the cascade, without end.
    const exitPolicy = [...socksRejects(socks), ...options.exitPolicy]
    if (stateDir !== undefined) {
      await writeStateSet(stateDir, {
        cascade: descriptor,
        params,
        hops: hops.map((hop, i) => ({ position: i + 1, role: hop.described.role, address: hop.described.address, admin: hop.admin! })),
        exitPolicy,
        socks,
        clientAdmin: { host: HOST, port: adminPorts[hopCount]! },
        log: options.log,
      })
    }

    const hopSetup = (position: number): HopSetup => {
      const hop = hops[position - 1]!
      return {
        described: hop.described,
        keys: hop.keys,
        schedule,
        openOnionKeys: async () => hop.onionKeys,
        verified,
        staleCascade: false,
        ...(hop.admin === undefined ? {} : { admin: hop.admin }),
        ...(position === 1 && stateDir !== undefined ? { peers: hops.slice(1).map((h) => adminUrl(h.admin!)) } : {}),
      }
    }
    const common = (position: number) => ({ cascade, linkKey: hops[position - 1]!.keys.link, listen: hops[position - 1]!.described.address })
    const exitSetup: NodeSetup = {
      role: 'exit',
      label: 'exit',
      log: options.log,
      options: { ...common(hopCount), exitPolicy, dnsServers: options.dnsServers },
      hop: hopSetup(hopCount),
    }
    nodes.push(await startNode(exitSetup, loggers[hopCount - 1]!))
    for (let position = options.mixes; position >= 1; position--) {
      const mix = await startNode({
        role: 'mix',
        label: labelOf(position),
        log: options.log,
        options: { ...common(position), position },
        hop: hopSetup(position),
      }, loggers[position - 1]!)
      nodes.push(mix)
      await waitUntil(() => mix.successorUp!(), readyTimeoutMs,
        `mix ${position} did not reach ${position === options.mixes ? 'the exit' : `mix ${position + 1}`} within ${readyTimeoutMs} ms`)
    }
    const client = await startNode({
      role: 'client',
      label: 'client',
      log: options.log,
      options: { socks },
      openCascade: (logger) => SignedCascadeSource.open({ anchor: descriptor, fetch: async () => createCascadeDescriptor(hops.map((hop) => hop.describe())), logger }),
    }, log('client'))
    nodes.push(client)
    await client.waitForEntry!(readyTimeoutMs).catch((err: unknown) => {
      throw new StartError('CLI_NOT_READY', `the client could not reach mix 1 within ${readyTimeoutMs} ms`, { cause: err })
    })
    return { cascade, descriptor, socks, exitPolicy, nodes }
  } catch (err) {
    for (const node of [...nodes].reverse()) await node.stop().catch(() => {})
    // Hops that never started still hold their keys.
    for (const hop of hops.slice(0, hops.length - nodes.filter((n) => n.role !== 'client').length)) {
      await hop.onionKeys.close().catch(() => {})
      wipeIdentity(hop.keys)
    }
    throw err
  }
}

/** Exit policy rules refusing the SOCKS address (for an unspecified address: loopback). */
function socksRejects (socks: HostPort): string[] {
  const family = isIP(socks.host)
  if (family === 0) return []
  if (socks.host === '0.0.0.0' || socks.host === '::') return [`reject 127.0.0.1:${socks.port}`, `reject [::1]:${socks.port}`]
  return [`reject ${formatHostPort(socks)}`]
}

async function waitUntil (condition: () => boolean, timeoutMs: number, failure: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new StartError('CLI_NOT_READY', failure)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
