/**
 * Test helper: a raw SOCKS5 client that speaks the protocol byte by byte (RFC 1928/1929),
 * so cascade tests can check the exact reply bytes the app sees (REP, BND) and control what
 * goes out in which write (e.g. CONNECT and the first request bytes together: optimistic
 * data). `SocketReader` reads exact byte counts from a socket, or everything to EOF.
 */
import { connect, isIPv4, isIPv6, type Socket } from 'node:net'

/** Reads a socket as a byte stream: exact counts, or all that is left up to EOF. */
export class SocketReader {
  private chunks: Buffer[] = []
  private length = 0
  private ended = false
  private failure: Error | undefined
  private wake: (() => void) | undefined
  private readonly socket: Socket
  private readonly onData = (chunk: Buffer): void => { this.chunks.push(chunk); this.length += chunk.length; this.notify() }
  private readonly onEnd = (): void => { this.ended = true; this.notify() }
  private readonly onError = (err: Error): void => { this.failure = err; this.notify() }

  constructor (socket: Socket) {
    this.socket = socket
    socket.on('data', this.onData)
    socket.on('end', this.onEnd)
    socket.on('close', this.onEnd)
    socket.on('error', this.onError)
  }

  /** Whether the peer has ended (or the socket closed or failed). */
  get done (): boolean { return this.ended || this.failure !== undefined }

  /** Bytes received and not yet taken. */
  get buffered (): number { return this.length }

  /** Exactly `n` bytes; rejects if the stream ends first. */
  async read (n: number): Promise<Buffer> {
    while (this.length < n) {
      if (this.done) throw new Error(`stream ended after ${this.length} of ${n} bytes`, { cause: this.failure })
      await this.next()
    }
    const all = Buffer.concat(this.chunks)
    this.chunks = all.length > n ? [all.subarray(n)] : []
    this.length -= n
    return all.subarray(0, n)
  }

  /** Every byte up to EOF (resolves on end, close or error). */
  async readToEnd (): Promise<Buffer> {
    while (!this.done) await this.next()
    const all = Buffer.concat(this.chunks)
    this.chunks = []
    this.length = 0
    return all
  }

  /** Stop listening; returns what was received and not taken (the caller reads on). */
  detach (): Buffer {
    this.socket.off('data', this.onData)
    this.socket.off('end', this.onEnd)
    this.socket.off('close', this.onEnd)
    this.socket.off('error', this.onError)
    const rest = Buffer.concat(this.chunks)
    this.chunks = []
    this.length = 0
    return rest
  }

  private async next (): Promise<void> {
    await new Promise<void>((resolve) => { this.wake = resolve })
  }

  private notify (): void {
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }
}

export interface RawConnectOptions {
  readonly socksPort: number
  /** Destination: a name (ATYP 3), an IPv4 literal (1) or an IPv6 literal (4, no brackets). */
  readonly host: string
  readonly port: number
  /** RFC 1929 credentials (offers only method 0x02 when given). */
  readonly username?: string
  readonly password?: string
  /** Bytes sent right after the CONNECT request, in the same write (optimistic data). */
  readonly early?: Buffer
  /** Send greeting, (credentials,) request and early data in ONE write, without waiting. */
  readonly pipelined?: boolean
  /** End the write side right after the early data (FIN before any reply). */
  readonly endAfterEarly?: boolean
}

export interface RawConnectResult {
  readonly socket: Socket
  readonly reader: SocketReader
  /** The method selection (2 bytes). */
  readonly method: Buffer
  /** The reply to CONNECT: VER REP RSV ATYP BND.ADDR BND.PORT (10 bytes for ATYP 1). */
  readonly reply: Buffer
  readonly rep: number
}

export function encodeConnect (host: string, port: number): Buffer {
  let address: Buffer
  if (isIPv4(host)) address = Buffer.from([0x01, ...host.split('.').map(Number)])
  else if (isIPv6(host)) address = Buffer.concat([Buffer.from([0x04]), ipv6Bytes(host)])
  else address = Buffer.concat([Buffer.from([0x03, Buffer.byteLength(host)]), Buffer.from(host)])
  const portBytes = Buffer.alloc(2)
  portBytes.writeUInt16BE(port)
  return Buffer.concat([Buffer.from([0x05, 0x01, 0x00]), address, portBytes])
}

function encodeUserPass (username: string, password: string): Buffer {
  return Buffer.concat([Buffer.from([0x01, Buffer.byteLength(username)]), Buffer.from(username),
    Buffer.from([Buffer.byteLength(password)]), Buffer.from(password)])
}

function ipv6Bytes (text: string): Buffer {
  const [head, tail] = text.split('::') as [string, string | undefined]
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = tail === undefined ? left : [...left, ...new Array<string>(8 - left.length - right.length).fill('0'), ...right]
  const out = Buffer.alloc(16)
  groups.forEach((group, i) => out.writeUInt16BE(parseInt(group, 16), 2 * i))
  return out
}

/** Open a TCP connection to the SOCKS port (resolves once connected). */
export async function openSocket (port: number, host = '127.0.0.1'): Promise<Socket> {
  return await new Promise((resolve, reject) => {
    const socket = connect({ host, port, allowHalfOpen: true })
    socket.once('connect', () => { socket.off('error', reject); resolve(socket) })
    socket.once('error', reject)
  })
}

/**
 * Greeting, (credentials,) CONNECT, then read the whole reply. The socket stays open (and
 * the reader attached) for the data phase; the caller destroys it.
 */
export async function rawConnect (options: RawConnectOptions): Promise<RawConnectResult> {
  const socket = await openSocket(options.socksPort)
  socket.setNoDelay(true)
  socket.on('error', () => {}) // a reset is read as the end of the stream
  const reader = new SocketReader(socket)
  const auth = options.username !== undefined
  const greeting = Buffer.from(auth ? [0x05, 0x01, 0x02] : [0x05, 0x01, 0x00])
  const credentials = auth ? encodeUserPass(options.username!, options.password ?? '') : Buffer.alloc(0)
  const request = Buffer.concat([encodeConnect(options.host, options.port), options.early ?? Buffer.alloc(0)])
  const finish = (): void => { if (options.endAfterEarly === true) socket.end() }
  let method: Buffer
  if (options.pipelined === true) {
    socket.write(Buffer.concat([greeting, credentials, request]))
    finish()
    method = await reader.read(2)
    if (auth) await reader.read(2)
  } else {
    socket.write(greeting)
    method = await reader.read(2)
    if (auth) {
      socket.write(credentials)
      await reader.read(2)
    }
    socket.write(request)
    finish()
  }
  const head = await reader.read(4)
  const atyp = head[3]
  const nameLength = atyp === 0x03 ? await reader.read(1) : Buffer.alloc(0)
  const addressBytes = atyp === 0x01 ? 4 : atyp === 0x04 ? 16 : nameLength[0]!
  const tail = await reader.read(addressBytes + 2)
  const reply = Buffer.concat([head, nameLength, tail])
  return { socket, reader, method, reply, rep: reply[1]! }
}

export interface RawCommandResult {
  /** The whole reply: VER REP RSV ATYP BND.ADDR BND.PORT. */
  readonly reply: Buffer
  readonly rep: number
  /** Whether the front closed the connection right after the reply. */
  readonly closedAfter: boolean
}

/**
 * Greeting (no auth, or RFC 1929 with `username` and password "x"), one request with
 * `command` for `address` (ATYP and address bytes) and port 0, then the reply and whether
 * the front closed after it (RESOLVE and RESOLVE_PTR, Tor's 0xF0 and 0xF1, close). The
 * socket is destroyed afterwards.
 */
export async function rawCommand (socksPort: number, command: number, address: Buffer, username?: string): Promise<RawCommandResult> {
  const socket = await openSocket(socksPort)
  socket.on('error', () => {})
  const reader = new SocketReader(socket)
  try {
    if (username === undefined) {
      socket.write(Buffer.from([0x05, 0x01, 0x00]))
      await reader.read(2)
    } else {
      socket.write(Buffer.from([0x05, 0x01, 0x02]))
      await reader.read(2)
      socket.write(encodeUserPass(username, 'x'))
      await reader.read(2)
    }
    socket.write(Buffer.concat([Buffer.from([0x05, command, 0x00]), address, Buffer.from([0, 0])]))
    const head = await reader.read(4)
    const atyp = head[3]
    const length = atyp === 0x03 ? await reader.read(1) : Buffer.alloc(0)
    const tail = await reader.read((atyp === 0x01 ? 4 : atyp === 0x04 ? 16 : length[0]!) + 2)
    const rest = await reader.readToEnd()
    return { reply: Buffer.concat([head, length, tail]), rep: head[1]!, closedAfter: rest.length === 0 }
  } finally {
    socket.destroy()
  }
}

/** ATYP 3 and a name, or ATYP 1 and an IPv4 address, as a request carries them. */
export const atypName = (name: string): Buffer => Buffer.concat([Buffer.from([0x03, Buffer.byteLength(name, 'latin1')]), Buffer.from(name, 'latin1')])
export const atypIpv4 = (address: string): Buffer => Buffer.from([0x01, ...address.split('.').map(Number)])
