/**
 * Test harness for the SOCKS front door alone (the cascade comes later): an HTTP server on
 * 127.0.0.1:0, a front whose onConnect connects straight to the destination and pipes both
 * ways, a raw SOCKS client for byte-level checks, and curl. Everything a test starts is
 * closed by its teardown.
 */
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { connect } from 'node:net'
import type { Test } from 'tap'
import { SocksFront } from '../../../src/client/socks/index.js'
import type { ConnectHandler, ConnectRequest, SocksError, SocksFrontOptions } from '../../../src/client/socks/index.js'

/** 384 KiB of varied, deterministic bytes (xorshift32), so a slip anywhere changes the hash. */
export const BODY = ((): Buffer => {
  const out = Buffer.alloc(384 * 1024)
  let x = 0x9e3779b9
  for (let i = 0; i < out.length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5
    out[i] = x & 0xff
  }
  return out
})()

export function sha256 (bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

export interface HttpTarget {
  readonly port: number
  /** Every request line the server received, e.g. 'GET /a'. */
  readonly requests: string[]
}

/** An HTTP server on 127.0.0.1:0 that answers every GET with BODY. */
export async function startHttpServer (t: Test): Promise<HttpTarget> {
  const requests: string[] = []
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`)
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BODY.length })
    res.end(BODY)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.closeAllConnections(); server.close() })
  return { port: (server.address() as AddressInfo).port, requests }
}

export interface FrontRecord {
  readonly requests: ConnectRequest[]
  readonly errors: SocksError[]
  readonly warnings: string[]
}

export interface StartedFront {
  readonly front: SocksFront
  readonly port: number
  readonly record: FrontRecord
  /** Sockets the test's handlers own (accepted app sockets, upstreams): destroyed at teardown. */
  readonly owned: Set<Socket>
}

type FrontOverrides = Partial<Omit<SocksFrontOptions, 'onConnect'>> & {
  onConnect?: (request: ConnectRequest, pending: Parameters<ConnectHandler>[1], started: StartedFront) => void | Promise<void>
}

/** A front on 127.0.0.1:0; by default its onConnect is `directConnect`. */
export async function startFront (t: Test, overrides: FrontOverrides = {}): Promise<StartedFront> {
  const record: FrontRecord = { requests: [], errors: [], warnings: [] }
  const owned = new Set<Socket>()
  const { onConnect, ...options } = overrides
  let started: StartedFront | undefined
  const front = new SocksFront({
    auth: { none: true, userPass: true },
    ...options,
    port: 0,
    onConnect: (request, pending) => {
      record.requests.push(request)
      owned.add(pending.socket)
      return (onConnect ?? directConnect)(request, pending, started!)
    },
    onError: (err) => { record.errors.push(err) },
    onWarning: (code) => { record.warnings.push(code) },
  })
  const { port } = await front.listen()
  t.teardown(async () => {
    await front.close()
    for (const socket of owned) socket.destroy()
  })
  started = { front, port, record, owned }
  return started
}

/**
 * The front's stand-in for the cascade: connect to the destination itself (localhost is
 * 127.0.0.1 here, to stay on the test server's family), answer the app only once connected,
 * send its early data first, then pipe both ways.
 */
export function directConnect (request: ConnectRequest, pending: Parameters<ConnectHandler>[1], started: StartedFront): void {
  const upstream = connect({ host: request.host === 'localhost' ? '127.0.0.1' : request.host, port: request.port })
  started.owned.add(upstream)
  upstream.setNoDelay(true)
  let answered = false
  upstream.once('error', () => {
    if (!answered) { answered = true; pending.reject(0x05) } else pending.socket.destroy()
  })
  pending.socket.once('close', () => upstream.destroy())
  upstream.once('connect', () => {
    answered = true
    const early = pending.takeEarlyData()
    if (!pending.accept()) { upstream.destroy(); return }
    for (const chunk of early) upstream.write(chunk)
    pending.socket.pipe(upstream)
    upstream.pipe(pending.socket)
  })
}

/** A byte-level SOCKS client: write what you like, read exactly what you expect. */
export class RawClient {
  readonly socket: Socket
  #received = Buffer.alloc(0)
  #readOffset = 0
  #closed = false
  #wake: (() => void) | undefined

  constructor (socket: Socket) {
    this.socket = socket
    socket.on('data', (chunk: Buffer) => { this.#received = Buffer.concat([this.#received, chunk]); this.#wake?.() })
    socket.on('close', () => { this.#closed = true; this.#wake?.() })
    socket.on('error', () => {}) // a reset shows up as an early close in the assertions
  }

  /** The next `n` bytes; rejects if the connection closes first or nothing comes for 5 s. */
  async read (n: number): Promise<Buffer> {
    await this.#until(() => this.#received.length - this.#readOffset >= n, `${n} bytes`)
    const out = this.#received.subarray(this.#readOffset, this.#readOffset + n)
    this.#readOffset += n
    return out
  }

  /** Everything after what was read, once the connection has closed. */
  async rest (): Promise<Buffer> {
    await this.closed()
    return this.#received.subarray(this.#readOffset)
  }

  async closed (): Promise<void> {
    await this.#until(() => this.#closed, 'close')
  }

  get isClosed (): boolean { return this.#closed }

  async #until (done: () => boolean, what: string): Promise<void> {
    while (!done()) {
      if (this.#closed && what !== 'close') throw new Error(`connection closed before ${what} arrived`)
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`waited 5 s for ${what}`)), 5000)
        this.#wake = () => { clearTimeout(timer); this.#wake = undefined; resolve() }
      })
    }
  }
}

export async function rawClient (t: Test, port: number): Promise<RawClient> {
  const socket = connect({ host: '127.0.0.1', port })
  t.teardown(() => { socket.destroy() })
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  socket.setNoDelay(true)
  return new RawClient(socket)
}

// --- SOCKS5 bytes, built by hand so tests do not depend on the code under test -------------

export const GREETING_NO_AUTH = Buffer.from([0x05, 0x01, 0x00])
export const GREETING_USER_PASS = Buffer.from([0x05, 0x01, 0x02])

export function userPassRequest (username: string, password: string): Buffer {
  const u = Buffer.from(username)
  const p = Buffer.from(password)
  return Buffer.concat([Buffer.from([0x01, u.length]), u, Buffer.from([p.length]), p])
}

function portBytes (port: number): Buffer {
  return Buffer.from([port >>> 8, port & 0xff])
}

export function domainRequest (host: string, port: number, command = 0x01): Buffer {
  const name = Buffer.from(host)
  return Buffer.concat([Buffer.from([0x05, command, 0x00, 0x03, name.length]), name, portBytes(port)])
}

export function ipv4Request (octets: [number, number, number, number], port: number, command = 0x01): Buffer {
  return Buffer.concat([Buffer.from([0x05, command, 0x00, 0x01, ...octets]), portBytes(port)])
}

export function ipv6Request (bytes: number[], port: number): Buffer {
  return Buffer.concat([Buffer.from([0x05, 0x01, 0x00, 0x04, ...bytes]), portBytes(port)])
}

/** The only reply shape the front may send: VER 5, REP, RSV 0, ATYP 1, 0.0.0.0, port 0. */
export function expectedReply (rep: number): Buffer {
  return Buffer.from([0x05, rep, 0x00, 0x01, 0, 0, 0, 0, 0, 0])
}

export function httpGet (path: string, port: number): Buffer {
  return Buffer.from(`GET ${path} HTTP/1.1\r\nHost: localhost:${port}\r\nConnection: close\r\n\r\n`)
}

/** Splits an HTTP/1.1 response into head and body (Content-Length framing, as our server sends). */
export function splitHttp (response: Buffer): { head: string, body: Buffer } {
  const end = response.indexOf('\r\n\r\n')
  return { head: response.subarray(0, end).toString('latin1'), body: response.subarray(end + 4) }
}

// --- curl -----------------------------------------------------------------------------------

export interface CurlResult {
  readonly exitCode: number
  readonly stdout: Buffer
  readonly stderr: string
}

/** Runs /usr/bin/curl with no config file and no proxy variables from the environment. */
export async function curl (args: string[]): Promise<CurlResult> {
  return await new Promise((resolve) => {
    execFile('/usr/bin/curl', ['-q', '-sS', '--max-time', '10', ...args],
      { encoding: 'buffer', maxBuffer: 16 << 20, timeout: 15_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
      (err, stdout, stderr) => {
        const exitCode = err === null ? 0 : typeof err.code === 'number' ? err.code : -1
        resolve({ exitCode, stdout, stderr: stderr.toString() })
      })
  })
}
