/**
 * The embedded default behind `mixgate up`: a whole cascade on one host in this process —
 * N mixes, an exit and the client, fresh keys, free ports.
 *
 * Nodes start from the exit backwards, each mix once its link to the next hop is up (a mix
 * refuses predecessors until then), and the client last, once the entry accepted its link:
 * when this resolves, a SOCKS request goes straight through.
 */
import { isIP } from 'node:net'
import { x25519KeyPair, type KeyPair } from '../crypto/index.js'
import { makeCascade, type Cascade } from '../directory/cascade.js'
import { formatHostPort, type HostPort } from '../node/address.js'
import { createLogger } from '../node/logger.js'
import { freePorts } from './free-ports.js'
import type { LogSettings, NodeSetup } from './node-setup.js'
import { startNode, StartError, type StartedNode } from './start-node.js'

export interface EmbeddedOptions {
  readonly mixes: number
  readonly roundMs: number
  readonly cellSize?: number
  /** The client's SOCKS5 address; port 0 picks a free port. */
  readonly socks: HostPort
  /** Operator rules in front of the exit's default policy. */
  readonly exitPolicy: readonly string[]
  readonly dnsServers: readonly string[]
  readonly log: LogSettings
  /** How long each node may take to reach the next (default 10 s). */
  readonly readyTimeoutMs?: number
}

export interface EmbeddedCascade {
  readonly cascade: Cascade
  readonly keys: ReadonlyArray<{ readonly link: KeyPair, readonly onion: KeyPair }>
  /** The SOCKS5 address, with the real port. */
  readonly socks: HostPort
  /** The exit's operator rules as used: the SOCKS port's refusal, then the given rules. */
  readonly exitPolicy: readonly string[]
  /** In start order: exit, mixes from last to first, client. */
  readonly nodes: readonly StartedNode[]
}

const HOST = '127.0.0.1'

export async function startEmbeddedCascade (options: EmbeddedOptions): Promise<EmbeddedCascade> {
  const hopCount = options.mixes + 1
  const readyTimeoutMs = options.readyTimeoutMs ?? 10_000
  const keys = Array.from({ length: hopCount }, () => ({ link: x25519KeyPair(), onion: x25519KeyPair() }))
  const wantFreeSocks = options.socks.port === 0
  const ports = await freePorts(HOST, hopCount + (wantFreeSocks ? 1 : 0))
  const socks = wantFreeSocks ? { host: options.socks.host, port: ports[hopCount]! } : options.socks
  const cascade = makeCascade({
    cellSize: options.cellSize ?? 2048,
    roundMs: options.roundMs,
    epoch: 0,
    hops: keys.map((k, i) => ({
      role: i === hopCount - 1 ? 'exit' as const : 'mix' as const,
      address: { host: HOST, port: ports[i]! },
      linkKey: k.link.publicKey,
      onionKey: k.onion.publicKey,
    })),
  })
  // With `accept 127.0.0.1:*` the exit could otherwise be told to connect to our own SOCKS
  // port, and each such stream would open another one through the cascade, without end.
  const exitPolicy = [...socksRejects(socks), ...options.exitPolicy]
  const log = (label: string) => createLogger({ role: label, level: options.log.level, format: options.log.format })

  const nodes: StartedNode[] = []
  try {
    const exitSetup: NodeSetup = {
      role: 'exit',
      label: 'exit',
      log: options.log,
      options: { cascade, linkKey: keys[hopCount - 1]!.link, onionKey: keys[hopCount - 1]!.onion, exitPolicy, dnsServers: options.dnsServers },
    }
    nodes.push(await startNode(exitSetup, log('exit')))
    for (let position = options.mixes; position >= 1; position--) {
      const label = `mix[${position}]`
      const mix = await startNode({
        role: 'mix',
        label,
        log: options.log,
        options: { cascade, position, linkKey: keys[position - 1]!.link, onionKey: keys[position - 1]!.onion },
      }, log(label))
      nodes.push(mix)
      await waitUntil(() => mix.successorUp!(), readyTimeoutMs,
        `mix ${position} did not reach ${position === options.mixes ? 'the exit' : `mix ${position + 1}`} within ${readyTimeoutMs} ms`)
    }
    const client = await startNode({ role: 'client', label: 'client', log: options.log, options: { cascade, socks } }, log('client'))
    nodes.push(client)
    await client.waitForEntry!(readyTimeoutMs).catch((err: unknown) => {
      throw new StartError('CLI_NOT_READY', `the client could not reach mix 1 within ${readyTimeoutMs} ms`, { cause: err })
    })
    return { cascade, keys, socks, exitPolicy, nodes }
  } catch (err) {
    for (const node of [...nodes].reverse()) await node.stop().catch(() => {})
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
