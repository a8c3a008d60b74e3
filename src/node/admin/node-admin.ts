/**
 * One call that gives a running node its admin port: a metrics registry with the role's
 * metrics (each role registers its own: src/mix/mix-metrics.ts, src/exit/exit-metrics.ts,
 * src/client/client-metrics.ts), its health check, and an AdminServer serving
 * `/healthz`, `/metrics` and, when providers are given, `/descriptor` and `/cascade`.
 *
 *   const admin = await startNodeAdmin({ role: 'mix', node: mix.node, position: 1,
 *     listener: mix.listener, address: { host: '127.0.0.1', port: 9101 },
 *     epoch: () => schedule.current(), descriptor: () => signedDescriptor, logger })
 *   …
 *   await admin.close()
 *
 * Every role's port also serves the HTML status page (status-page.ts) at `/`, rendered from
 * the same metrics; a client's page adds the loop RTT over time (rtt-history.ts samples it
 * while the admin server runs), and given its `doors`, the port serves `/proxy.pac`.
 *
 * The node is taken through the source shapes those files declare. A hop that offers `observeRounds` is attached for the round size histogram and
 * the padding counters, and detached again by `close()`.
 *
 * The address must be loopback unless `allowRemote` is set: the port shows the node's state
 * (a `ConfigError` naming `configField`, so the CLI exits with status 2).
 */
import type { HostPort } from '../../base/address.js'
import type { Logger } from '../../base/logger.js'
import { registerClientMetrics, type ClientMetricsOptions, type ClientSource } from '../../client/client-metrics.js'
import { registerExitMetrics, type ExitSource } from '../../exit/exit-metrics.js'
import type { HopSource, RoundObserver } from '../../hop/hop-metrics.js'
import type { ListenerSource } from '../../link/listener-metrics.js'
import { registerMixMetrics, type MixSource } from '../../mix/mix-metrics.js'
import { MetricsRegistry } from '../../base/metrics-registry.js'
import { parsePrometheusText } from '../../base/metrics-text.js'
import { AdminServer, type DescriptorProvider, type NodeHealth } from './admin-server.js'
import { clientHealth, mixHealth, type HealthCheck } from './health.js'
import { proxyPac, type PacDoors } from './proxy-pac.js'
import { RttHistory, sampleRtt, type RttSampler } from './rtt-history.js'
import { renderStatusPage } from './status-page.js'

interface CommonAdminOptions {
  /** Where to listen; port 0 picks a free one (tests). */
  readonly address: HostPort
  /** Bind a non-loopback address. Off by default. */
  readonly allowRemote?: boolean
  /** The key epoch the node uses now; without it `mixgate_epoch` is not exported (NaN if it throws). */
  readonly epoch?: () => number
  /** This node's signed node descriptor, served at /descriptor (404 without). */
  readonly descriptor?: DescriptorProvider
  /** The signed cascade descriptor, served at /cascade (the entry mix; 404 without). */
  readonly cascade?: DescriptorProvider
  readonly logger: Logger
  /** Whole seconds since the node started (default: the process's uptime). */
  readonly uptimeS?: () => number
  /** The config field the address came from, for error messages (default `admin`). */
  readonly configField?: string
}

export interface MixAdminOptions extends CommonAdminOptions {
  readonly role: 'mix'
  readonly node: MixSource
  /** 1 = entry mix. */
  readonly position: number
  /** The link listener predecessors connect to, for its handshake counters. */
  readonly listener?: ListenerSource
}

export interface ExitAdminOptions extends CommonAdminOptions {
  readonly role: 'exit'
  readonly node: ExitSource
  /** The number of hops in the cascade. */
  readonly position: number
  readonly listener?: ListenerSource
}

export interface ClientAdminOptions extends CommonAdminOptions {
  readonly role: 'client'
  readonly node: ClientSource
  /** Application bytes, if the node counts them. */
  readonly bytes?: ClientMetricsOptions['bytes']
  /** The client's SOCKS (and HTTP CONNECT) addresses as bound: /proxy.pac points browsers there (404 without). */
  readonly doors?: PacDoors
}

export type NodeAdminOptions = MixAdminOptions | ExitAdminOptions | ClientAdminOptions

export interface NodeAdmin {
  /** Where the admin server listens (the real port when 0 was asked for). */
  readonly address: HostPort
  /** `http://HOST:PORT` of that address, for `mixgate status --admin` and logs. */
  readonly url: string
  /** What /metrics renders (for tests and for a node that wants to add its own). */
  readonly registry: MetricsRegistry
  /** Stop serving and detach from the node; safe to call twice. */
  close (): Promise<void>
}

/**
 * Register the role's metrics over `node`, and serve them with its health and descriptors.
 * @throws ConfigError `CONFIG_INVALID` for a non-loopback address without `allowRemote`, or a
 *   bad port; AdminError `ADMIN_LISTEN_FAILED` when the port cannot be bound.
 */
export async function startNodeAdmin (options: NodeAdminOptions): Promise<NodeAdmin> {
  const registry = new MetricsRegistry({ defaultMetrics: true })
  const epoch = options.epoch
  const common = {
    // A reader that throws (a clock before genesis) must not take /metrics down: NaN instead.
    ...(epoch === undefined ? {} : { epoch: () => { try { return epoch() } catch { return Number.NaN } } }),
    ...(options.uptimeS === undefined ? {} : { uptimeS: options.uptimeS }),
  }
  let health: HealthCheck | undefined
  let hop: { source: HopSource, observer: RoundObserver } | undefined
  let rtt: { history: RttHistory, sampler: RttSampler, expectedMs: () => number } | undefined
  let pac: (() => string) | undefined
  let client: ClientSource | undefined
  switch (options.role) {
    case 'mix': {
      const metrics = registerMixMetrics(registry, options.node, { ...common, ...hopOptions(options) })
      health = mixHealth(options.node)
      hop = { source: options.node, observer: metrics.roundObserver }
      break
    }
    case 'exit': {
      const metrics = registerExitMetrics(registry, options.node, { ...common, ...hopOptions(options) })
      hop = { source: options.node, observer: metrics.roundObserver }
      break
    }
    case 'client':
      registerClientMetrics(registry, options.node, { ...common, ...(options.bytes === undefined ? {} : { bytes: options.bytes }) })
      health = clientHealth(options.node)
      client = options.node
      if (options.doors !== undefined) {
        const text = proxyPac(options.doors)
        pac = () => text
      }
      break
  }
  // Checks the address (loopback, port) before anything is bound or attached.
  const server = new AdminServer({
    host: options.address.host,
    port: options.address.port,
    allowNonLoopback: options.allowRemote === true,
    role: options.role,
    metrics: registry,
    logger: options.logger,
    configField: options.configField ?? 'admin',
    ...(health === undefined ? {} : { health }),
    ...(options.descriptor === undefined ? {} : { descriptor: options.descriptor }),
    ...(options.cascade === undefined ? {} : { cascade: options.cascade }),
    ...(options.uptimeS === undefined ? {} : { uptimeS: options.uptimeS }),
    page: async (nodeHealth: NodeHealth) => renderStatusPage({
      status: { ...nodeHealth, metrics: parsePrometheusText(await registry.render()) },
      ...(rtt === undefined ? {} : { rtt: { samples: rtt.history.samples(), expectedMs: rtt.expectedMs() } }),
      proxyPac: pac !== undefined,
      nowMs: Date.now(),
    }),
    ...(pac === undefined ? {} : { proxyPac: pac }),
  })
  // Sampled from here on: the constructor above has checked the address.
  rtt = client === undefined ? undefined : clientRtt(client)
  let bound
  try {
    bound = await server.start()
  } catch (err) {
    rtt?.sampler.stop()
    throw err
  }
  hop?.source.observeRounds?.(hop.observer)
  let closed = false
  return {
    address: bound,
    url: `http://${bound.host.includes(':') ? `[${bound.host}]` : bound.host}:${bound.port}`,
    registry,
    async close () {
      if (closed) return
      closed = true
      hop?.source.observeRounds?.(undefined)
      rtt?.sampler.stop()
      await server.close()
    },
  }
}

/** A shaped client's loop RTT, sampled for the status page; undefined for an unshaped one. */
function clientRtt (client: ClientSource): { history: RttHistory, sampler: RttSampler, expectedMs: () => number } | undefined {
  if (client.shaping === undefined || client.shaping.profile === 'off') return undefined
  const history = new RttHistory()
  const sampler = sampleRtt(history, () => client.shaping?.rttMs)
  return { history, sampler, expectedMs: () => client.shaping?.rttExpectedMs ?? Number.NaN }
}

function hopOptions (options: MixAdminOptions | ExitAdminOptions): { position: number, listener?: ListenerSource } {
  return { position: options.position, ...(options.listener === undefined ? {} : { listener: options.listener }) }
}

