/**
 * The public face of a hop: an HTTP listener that serves its signed descriptors and nothing
 * else, for clients and peers on other hosts (Tor's DirPort, in spirit).
 *
 *   GET /descriptor   this hop's node descriptor, freshly signed (current and next onion key)
 *   GET /cascade      at an entry with `peers`: the cascade descriptor with fresh keys
 *
 * Everything it serves is signed and checked by whoever fetches it (pinned identity keys), so
 * plain HTTP is enough: a party in the middle can withhold or replay, never forge (R22). What
 * is not signed — health, metrics, uptime — stays on the loopback admin port. Each answer is
 * kept for a few seconds, so a flood of requests costs a flood of copies, not of signatures
 * or peer fetches.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { MixgateError } from '../errors.js'
import type { HostPort } from '../base/address.js'
import type { Logger } from '../base/logger.js'

/** A descriptor as JSON text or object; undefined when there is none yet (503). */
export type PublishedDocument = () => Promise<string | object | undefined> | string | object | undefined

export interface PublishServerOptions {
  readonly address: HostPort
  readonly descriptor: PublishedDocument
  readonly cascade?: PublishedDocument
  readonly logger: Logger
  /** How long an answer is reused (default 5 s). */
  readonly cacheMs?: number
}

export interface PublishServer {
  readonly address: HostPort
  /** `http://HOST:PORT`. */
  readonly url: string
  close (): Promise<void>
}

export class PublishError extends MixgateError {}

/** Tight limits: this port faces the Internet, and its requests are all tiny. */
const LIMITS = {
  headersTimeoutMs: 4_000,
  requestTimeoutMs: 5_000,
  keepAliveTimeoutMs: 2_000,
  idleMs: 10_000,
  maxHeaderBytes: 4 * 1024,
  maxHeaders: 24,
  maxConnections: 128,
} as const

interface Cached {
  readonly body: Buffer | undefined
  readonly until: number
}

export async function startPublishServer (options: PublishServerOptions): Promise<PublishServer> {
  const cacheMs = options.cacheMs ?? 5_000
  const routes = new Map<string, PublishedDocument>([['/descriptor', options.descriptor]])
  if (options.cascade !== undefined) routes.set('/cascade', options.cascade)
  const cache = new Map<string, Promise<Cached>>()

  const answer = (path: string, document: PublishedDocument): Promise<Cached> => {
    const now = Date.now()
    const held = cache.get(path)
    if (held !== undefined) {
      return held.then((cached) => cached.until > Date.now() ? cached : refresh())
    }
    return refresh()
    function refresh (): Promise<Cached> {
      const next = Promise.resolve()
        .then(() => document())
        .then((value) => ({ body: value === undefined ? undefined : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)), until: now + cacheMs }))
      // A failure is not cached: the next request tries again.
      cache.set(path, next.catch(() => ({ body: undefined, until: 0 })))
      return next
    }
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    res.setHeader('x-content-type-options', 'nosniff')
    const path = (req.url ?? '').split('?')[0]!
    const document = routes.get(path)
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD')
      return send(res, 405, 'method not allowed\n', true)
    }
    if (req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0') {
      return send(res, 400, 'a request body is not accepted\n', true)
    }
    if (document === undefined) return send(res, 404, 'not found\n')
    let cached: Cached
    try {
      cached = await answer(path, document)
    } catch (err) {
      options.logger.warn('publish.document_failed', { path, code: (err as { code?: string }).code ?? 'ERROR' })
      return send(res, 503, 'not available\n')
    }
    if (cached.body === undefined) return send(res, 503, 'not available yet\n')
    res.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': cached.body.byteLength,
      'cache-control': `max-age=${Math.floor(cacheMs / 1000)}`,
    })
    res.end(cached.body)
  }

  const server: Server = createServer({
    headersTimeout: LIMITS.headersTimeoutMs,
    requestTimeout: LIMITS.requestTimeoutMs,
    keepAliveTimeout: LIMITS.keepAliveTimeoutMs,
    maxHeaderSize: LIMITS.maxHeaderBytes,
    connectionsCheckingInterval: 1_000,
  }, (req, res) => {
    handle(req, res).catch(() => res.destroy())
  })
  server.maxHeadersCount = LIMITS.maxHeaders
  server.maxConnections = LIMITS.maxConnections
  server.timeout = LIMITS.idleMs
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(new PublishError('PUBLISH_LISTEN_FAILED', `cannot listen for descriptor requests: ${err.code ?? 'error'}`, { cause: err }))
    })
    server.listen({ host: options.address.host, port: options.address.port, exclusive: true }, resolve)
  })
  const bound = server.address() as AddressInfo
  const address = { host: bound.address, port: bound.port }
  options.logger.info('publish.listening', { port: bound.port, cascade: options.cascade !== undefined })
  return {
    address,
    url: `http://${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    }),
  }
}

function send (res: ServerResponse, status: number, text: string, close = false): void {
  const body = Buffer.from(text)
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': body.byteLength, ...(close ? { connection: 'close' } : {}) })
  res.end(body)
}
