/**
 * Test helper: destination servers for cascade tests, on loopback port 0, each closed by the
 * test's teardown. An HTTP server that records what it was asked and serves deterministic
 * bodies of any size; a raw TCP server (half-open allowed) for byte-level tests; a port
 * nobody listens on.
 */
import { createHash } from 'node:crypto'
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net'
import type { Test } from 'tap'

export function sha256 (bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/** `n` varied, deterministic bytes (xorshift32 from `seed`): a slip anywhere changes the hash. */
export function patternBytes (n: number, seed = 0x9e3779b9): Buffer {
  const out = Buffer.allocUnsafe(n)
  let x = seed >>> 0 || 1
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0
    out[i] = x & 0xff
  }
  return out
}

export interface HttpTarget {
  readonly port: number
  /** Every request the server received: method, URL, and the SHA-256 of its body. */
  readonly requests: { method: string, url: string, bodySha: string }[]
}

/**
 * An HTTP server. `GET /bytes/N` answers N pattern bytes; `POST` answers the SHA-256 of the
 * body; anything else answers `hello <url>\n`. Listens on `host` (default 127.0.0.1).
 */
export async function startHttpTarget (t: Test, host = '127.0.0.1'): Promise<HttpTarget> {
  const requests: HttpTarget['requests'] = []
  const server = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      requests.push({ method: req.method ?? '', url: req.url ?? '', bodySha: sha256(body) })
      const sized = /^\/bytes\/(\d+)$/.exec(req.url ?? '')
      if (sized !== null) {
        const bytes = patternBytes(Number(sized[1]))
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length })
        res.end(bytes)
      } else if (req.method === 'POST') {
        res.end(sha256(body))
      } else {
        res.end(`hello ${req.url}\n`)
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  return { port: (server.address() as AddressInfo).port, requests }
}

export interface TcpTarget {
  readonly port: number
  /** Connections accepted so far. */
  readonly sockets: Socket[]
}

/** A raw TCP server (half-open allowed) that hands each connection to `onSocket`. */
export async function startTcpTarget (t: Test, onSocket: (socket: Socket) => void, host = '127.0.0.1'): Promise<TcpTarget> {
  const sockets: Socket[] = []
  const server = createTcpServer({ allowHalfOpen: true }, (socket) => {
    sockets.push(socket)
    socket.on('error', () => {})
    onSocket(socket)
  })
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  t.teardown(() => new Promise<void>((resolve) => {
    for (const socket of sockets) socket.destroy()
    server.close(() => resolve())
  }))
  return { port: (server.address() as AddressInfo).port, sockets }
}

/** A loopback port with nothing listening (it was free a moment ago). */
export async function closedPort (): Promise<number> {
  const server = createTcpServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
