/**
 * The admin HTTP server every node can run: `/healthz`, `/metrics`, a hop's `/descriptor`
 * and, at the entry mix, `/cascade`. Read-only, GET and HEAD only, on loopback by default.
 *
 *   const admin = new AdminServer({ host: '127.0.0.1', port: 9101, role: 'mix',
 *     metrics: registry, health: mixHealth(mix) })
 *   const { port } = await admin.start()
 *   …
 *   await admin.close()
 *
 * Routes:
 *   GET /healthz     200 `{"status":"ok","role":…,"uptimeS":…}`, or 503 with
 *                    `"status":"unhealthy"` and a `reason` word when the health check says so
 *   GET /metrics     Prometheus text 0.0.4 (registry.ts: prom-client)
 *   GET /descriptor  the node's signed node descriptor (the provider's JSON); 404 when no
 *                    provider is configured, 503 while it has nothing to serve
 *   GET /cascade     the signed cascade descriptor (entry mix), the same way
 *   GET / and /status.html
 *                    the HTML status page (status-page.ts), with a strict
 *                    Content-Security-Policy; 404 when no page is configured
 *   GET /proxy.pac   a proxy auto-config file for browsers (a client: proxy-pac.ts); 404 without
 *   The page and the PAC are for browsers, so on a loopback-bound server they answer only
 *   a loopback Host (127.0.0.1, [::1], localhost): 403 otherwise, so that a web page whose
 *   name an attacker rebinds to 127.0.0.1 cannot read them (DNS rebinding).
 *   anything else    404; methods other than GET and HEAD get 405; a request with a body 400
 *
 * Why so strict: the port shows the node's state, so it binds loopback addresses only unless
 * `allowNonLoopback` is set (a `ConfigError` otherwise, checked again on the address actually
 * bound). No request body is ever read, headers and whole requests have short deadlines, and
 * connections are capped, so a local client cannot make the node hold much for it. Nothing
 * is logged per request above debug level (R19).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ConfigError } from '../../base/config-error.js'
import type { Logger } from '../../base/logger.js'
import { PROMETHEUS_CONTENT_TYPE } from '../../base/metrics-registry.js'
import { AdminError } from './errors.js'
import type { HealthCheck, HealthReport } from './health.js'
import { isLoopbackAddress, isLoopbackHost } from './loopback.js'
import { PAC_CONTENT_TYPE } from './proxy-pac.js'
import { STATUS_PAGE_CSP } from './status-page.js'
import type { HealthBody } from './status-lines.js'

/** What `/descriptor` serves: a string or bytes as they are (a signed file must stay byte-exact), or a value to JSON-encode. */
export type DescriptorBody = string | Uint8Array | object
/** Returns undefined while there is nothing to serve yet (503). */
export type DescriptorProvider = () => DescriptorBody | undefined | Promise<DescriptorBody | undefined>

/** The node's health as /healthz answers it, for the status page. */
export interface NodeHealth {
  readonly httpStatus: number
  readonly health: HealthBody
}

/** The status page's HTML for the health given (node-admin.ts renders it from the metrics). */
export type PageProvider = (health: NodeHealth) => string | Promise<string>

export interface AdminServerOptions {
  readonly host: string
  /** 0 = any free port (tests). */
  readonly port: number
  /** Bind a non-loopback address. Off by default: the port shows the node's state. */
  readonly allowNonLoopback?: boolean
  /** `client`, `mix` or `exit`, reported by /healthz. */
  readonly role: string
  /** What /metrics renders (a MetricsRegistry). */
  readonly metrics: { render (): string | Promise<string> }
  /** Without one, the node is healthy while it runs. */
  readonly health?: HealthCheck
  /** This node's signed descriptor; without one, /descriptor is 404. */
  readonly descriptor?: DescriptorProvider
  /** The signed cascade descriptor (entry mix); without one, /cascade is 404. */
  readonly cascade?: DescriptorProvider
  readonly logger?: Logger
  /** Whole seconds since the node started (default: the process's uptime). */
  readonly uptimeS?: () => number
  /** The config field the address came from, for error messages (default `admin`). */
  readonly configField?: string
  /** The HTML status page at / and /status.html; without one, both are 404. */
  readonly page?: PageProvider
  /** The proxy auto-config file at /proxy.pac (a client); without one, 404. */
  readonly proxyPac?: () => string
}

export interface AdminAddress {
  readonly host: string
  readonly port: number
}

/** Limits: generous for a scraper on loopback, short for anything that dawdles. */
const HEADERS_TIMEOUT_MS = 5_000
const REQUEST_TIMEOUT_MS = 10_000
const KEEP_ALIVE_TIMEOUT_MS = 5_000
const SOCKET_IDLE_MS = 15_000
const MAX_HEADER_BYTES = 8 * 1024
const MAX_HEADERS = 32
const MAX_CONNECTIONS = 32
/** How often Node checks the header and request deadlines (its default is 30 s). */
const DEADLINE_CHECK_MS = 1_000

export class AdminServer {
  private readonly options: AdminServerOptions
  private readonly uptimeS: () => number
  private server: Server | undefined

  /** @throws ConfigError `CONFIG_INVALID` for a non-loopback host without `allowNonLoopback`, or a bad port. */
  constructor (options: AdminServerOptions) {
    const field = options.configField ?? 'admin'
    if (options.allowNonLoopback !== true && !isLoopbackHost(options.host)) throw notLoopback(field)
    if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
      const message = `${field}: port must be an integer between 0 and 65535`
      throw new ConfigError('CONFIG_INVALID', message, { issues: [{ path: field, message }] })
    }
    this.options = options
    this.uptimeS = options.uptimeS ?? (() => Math.floor(process.uptime()))
  }

  /**
   * Bind and serve. Resolves with the address bound (the real port when `port` was 0).
   * @throws AdminError `ADMIN_LISTEN_FAILED`, `ADMIN_STATE`; ConfigError if the host resolved off loopback.
   */
  async start (): Promise<AdminAddress> {
    if (this.server !== undefined) throw new AdminError('ADMIN_STATE', 'the admin server is already started')
    const server = createServer({
      headersTimeout: HEADERS_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      maxHeaderSize: MAX_HEADER_BYTES,
      connectionsCheckingInterval: DEADLINE_CHECK_MS,
    }, (req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        // Only a broken connection gets here (every route answers its own failures).
        this.options.logger?.debug('admin.request_failed', { err })
        res.destroy()
      })
    })
    server.maxHeadersCount = MAX_HEADERS
    server.maxConnections = MAX_CONNECTIONS
    server.timeout = SOCKET_IDLE_MS
    this.server = server
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        reject(new AdminError('ADMIN_LISTEN_FAILED', `the admin server cannot listen: ${err.code ?? 'error'}`, { cause: err }))
      })
      server.listen({ host: this.options.host, port: this.options.port, exclusive: true }, resolve)
    }).catch((err: unknown) => {
      this.server = undefined
      throw err
    })
    const address = server.address() as AddressInfo
    if (this.options.allowNonLoopback !== true && !isLoopbackAddress(address.address)) {
      await this.close()
      throw notLoopback(this.options.configField ?? 'admin')
    }
    this.options.logger?.info('admin.listening', { port: address.port })
    return { host: address.address, port: address.port }
  }

  /** Stop listening and drop every connection, idle or not. */
  async close (): Promise<void> {
    const server = this.server
    if (server === undefined) return
    this.server = undefined
    await new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
  }

  private async handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('cache-control', 'no-store')
    res.setHeader('x-content-type-options', 'nosniff')
    const path = (req.url ?? '').split('?')[0]!
    let status: number
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD')
      status = closeWith(res, 405, 'method not allowed\n')
    } else if (hasBody(req)) {
      // Never read: closing the connection is cheaper than draining what was sent.
      status = closeWith(res, 400, 'a request body is not accepted\n')
    } else if (path === '/healthz') {
      status = this.healthz(res)
    } else if (path === '/metrics') {
      status = await this.metrics(res)
    } else if (path === '/descriptor' && this.options.descriptor !== undefined) {
      status = await this.descriptor(res, this.options.descriptor)
    } else if (path === '/cascade' && this.options.cascade !== undefined) {
      status = await this.descriptor(res, this.options.cascade)
    } else if (isBrowserPath(path) && !this.hostAllowed(req)) {
      status = send(res, 403, 'text/plain; charset=utf-8', 'this page answers only to a loopback address (http://127.0.0.1:PORT/)\n')
    } else if ((path === '/' || path === '/status.html') && this.options.page !== undefined) {
      status = await this.page(res, this.options.page)
    } else if (path === '/proxy.pac' && this.options.proxyPac !== undefined) {
      status = send(res, 200, PAC_CONTENT_TYPE, this.options.proxyPac())
    } else {
      status = send(res, 404, 'text/plain; charset=utf-8', 'not found\n')
    }
    if (this.options.logger?.isLevelEnabled('debug') === true) {
      this.options.logger.debug('admin.request', { method: req.method, path: path.slice(0, 64), status })
    }
  }

  /** A browser's Host names this machine, or the operator let the server off loopback. */
  private hostAllowed (req: IncomingMessage): boolean {
    if (this.options.allowNonLoopback === true) return true
    const host = req.headers.host
    if (host === undefined) return true
    let hostname: string
    try {
      hostname = new URL(`http://${host}/`).hostname
    } catch {
      return false
    }
    const bare = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname
    return isLoopbackHost(bare) || bare.endsWith('.localhost')
  }

  private healthz (res: ServerResponse): number {
    const { httpStatus, health } = this.nodeHealth()
    return send(res, httpStatus, 'application/json; charset=utf-8', JSON.stringify(health) + '\n')
  }

  private nodeHealth (): NodeHealth {
    let report: HealthReport
    try {
      report = this.options.health?.() ?? { healthy: true }
    } catch (err) {
      this.options.logger?.warn('admin.health_check_failed', { err })
      report = { healthy: false, reason: 'check_failed' }
    }
    const health: HealthBody = {
      status: report.healthy ? 'ok' : 'unhealthy',
      role: this.options.role,
      uptimeS: this.uptimeS(),
      ...(!report.healthy && report.reason !== undefined ? { reason: report.reason } : {}),
    }
    return { httpStatus: report.healthy ? 200 : 503, health }
  }

  private async page (res: ServerResponse, provider: PageProvider): Promise<number> {
    let html: string
    try {
      html = await provider(this.nodeHealth())
    } catch (err) {
      this.options.logger?.warn('admin.page_failed', { err })
      return send(res, 500, 'text/plain; charset=utf-8', 'internal error\n')
    }
    res.setHeader('content-security-policy', STATUS_PAGE_CSP)
    res.setHeader('x-frame-options', 'DENY')
    res.setHeader('referrer-policy', 'no-referrer')
    return send(res, 200, 'text/html; charset=utf-8', html)
  }

  private async metrics (res: ServerResponse): Promise<number> {
    let text: string
    try {
      text = await this.options.metrics.render()
    } catch (err) {
      this.options.logger?.warn('admin.metrics_failed', { err })
      return send(res, 500, 'text/plain; charset=utf-8', 'internal error\n')
    }
    return send(res, 200, PROMETHEUS_CONTENT_TYPE, text)
  }

  private async descriptor (res: ServerResponse, provider: DescriptorProvider): Promise<number> {
    let value: DescriptorBody | undefined
    try {
      value = await provider()
    } catch (err) {
      this.options.logger?.warn('admin.descriptor_failed', { err })
      return send(res, 500, 'text/plain; charset=utf-8', 'internal error\n')
    }
    if (value === undefined) return send(res, 503, 'text/plain; charset=utf-8', 'descriptor not available yet\n')
    const body = typeof value === 'string' || value instanceof Uint8Array ? value : JSON.stringify(value)
    return send(res, 200, 'application/json; charset=utf-8', body)
  }
}

function isBrowserPath (path: string): boolean {
  return path === '/' || path === '/status.html' || path === '/proxy.pac'
}

function notLoopback (field: string): ConfigError {
  const message = `${field}: the admin server binds only to a loopback address (127.0.0.1, ::1, localhost); ` +
    'set allowNonLoopback to serve other machines'
  return new ConfigError('CONFIG_INVALID', message, { issues: [{ path: field, message }] })
}

function hasBody (req: IncomingMessage): boolean {
  const length = req.headers['content-length']
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}

/** Answer and end; HEAD gets the same headers without the body (Node drops it). */
function send (res: ServerResponse, status: number, contentType: string, body: string | Uint8Array): number {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body
  res.writeHead(status, { 'content-type': contentType, 'content-length': bytes.byteLength })
  res.end(bytes)
  return status
}

/** Answer and close the connection: the request may carry bytes we will not read. */
function closeWith (res: ServerResponse, status: number, body: string): number {
  res.setHeader('connection', 'close')
  res.shouldKeepAlive = false
  return send(res, status, 'text/plain; charset=utf-8', body)
}
