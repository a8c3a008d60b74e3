/**
 * Test helpers for real-socket link tests on 127.0.0.1: a listener whose links and refusals
 * can be awaited one by one, matching dial options, raw Noise peers, and a byte-flipping relay.
 * Everything started here is closed through t.teardown.
 */
import { once } from 'node:events'
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { x25519KeyPair, type KeyPair } from '../../src/crypto/index.js'
import { dialLink, listenLinks, type DialOptions, type Link, type LinkError, type LinkListener, type ListenOptions } from '../../src/link/index.js'
import { HANDSHAKE_MESSAGE_BYTES, HandshakeState, type HandshakePattern } from '../../src/link/noise/handshake.js'

type Tap = { teardown: (fn: () => unknown) => void }

/** A queue that hands out values as they arrive, in order. */
export class Inbox<T> {
  private readonly items: T[] = []
  private readonly waiters: ((value: T) => void)[] = []
  readonly all: T[] = []

  put = (value: T): void => {
    this.all.push(value)
    const waiter = this.waiters.shift()
    if (waiter !== undefined) waiter(value)
    else this.items.push(value)
  }

  next (): Promise<T> {
    const item = this.items.shift()
    if (item !== undefined) return Promise.resolve(item)
    return new Promise(resolve => this.waiters.push(resolve))
  }
}

export const CELL = 256
export const PROLOGUE = Uint8Array.from([...new TextEncoder().encode('mixgate/v1'), ...new Uint8Array(32).fill(7), 2])

export interface Peers {
  pattern: HandshakePattern
  server: KeyPair
  client: KeyPair
}

export function peers (pattern: HandshakePattern): Peers {
  return { pattern, server: x25519KeyPair(), client: x25519KeyPair() }
}

export interface TestListener {
  listener: LinkListener
  port: number
  links: Inbox<Link>
  rejects: Inbox<LinkError>
}

export async function listen (t: Tap, p: Peers, extra: Partial<ListenOptions> = {}): Promise<TestListener> {
  const links = new Inbox<Link>()
  const rejects = new Inbox<LinkError>()
  const listener = await listenLinks({
    host: '127.0.0.1',
    port: 0,
    cellSize: CELL,
    pattern: p.pattern,
    localStatic: p.server,
    prologue: PROLOGUE,
    ...(p.pattern === 'KK' ? { allowedInitiator: p.client.publicKey } : {}),
    onLink: links.put,
    onReject: rejects.put,
    ...extra,
  })
  t.teardown(() => listener.close())
  return { listener, port: listener.address().port, links, rejects }
}

export function dialOptions (p: Peers, port: number, extra: Partial<DialOptions> = {}): DialOptions {
  return {
    host: '127.0.0.1',
    port,
    cellSize: CELL,
    pattern: p.pattern,
    remoteStatic: p.server.publicKey,
    prologue: PROLOGUE,
    ...(p.pattern === 'KK' ? { localStatic: p.client } : {}),
    ...extra,
  }
}

export async function dial (t: Tap, p: Peers, port: number, extra: Partial<DialOptions> = {}): Promise<Link> {
  const link = await dialLink(dialOptions(p, port, extra))
  t.teardown(() => link.close())
  return link
}

/** A cell whose bytes say which cell it is. */
export function cell (n: number, size = CELL): Uint8Array {
  const c = new Uint8Array(size)
  new DataView(c.buffer).setUint32(0, n)
  c.fill(n & 0xff, 4)
  return c
}

export function cellNumber (c: Uint8Array): number {
  return new DataView(c.buffer, c.byteOffset, c.byteLength).getUint32(0)
}

/** Collect `count` cells from a link. */
export function collect (link: Link, count: number): Promise<Uint8Array[]> {
  const cells: Uint8Array[] = []
  return new Promise((resolve, reject) => {
    if (count === 0) { resolve(cells); return }
    const onCell = (c: Uint8Array): void => {
      cells.push(c)
      if (cells.length === count) { link.off('cell', onCell); link.off('close', onClose); resolve(cells) }
    }
    const onClose = (reason: LinkError | undefined): void => reject(reason ?? new Error('closed'))
    link.on('cell', onCell)
    link.once('close', onClose)
  })
}

export async function closeReason (link: Link): Promise<LinkError | undefined> {
  const [reason] = await once(link, 'close') as [LinkError | undefined]
  return reason
}

/** A raw TCP client socket, destroyed at teardown. */
export async function rawConnect (t: Tap, port: number): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port })
  t.teardown(() => socket.destroy())
  await once(socket, 'connect')
  return socket
}

/** Resolves when the socket is closed (by the other side or by us). */
export function closed (socket: Socket): Promise<void> {
  if (socket.destroyed) return Promise.resolve()
  return new Promise(resolve => socket.once('close', () => resolve()))
}

/** A Noise initiator for hand-made peers (the test plays the client). */
export function rawInitiator (p: Peers, prologue = PROLOGUE): HandshakeState {
  return new HandshakeState({
    pattern: p.pattern,
    initiator: true,
    prologue,
    rs: p.server.publicKey,
    ...(p.pattern === 'KK' ? { s: p.client } : {}),
  })
}

/** Read exactly n bytes from a socket (test-side, small messages only). */
export function readExactly (socket: Socket, n: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0)
    const onData = (chunk: Buffer): void => {
      got = Buffer.concat([got, chunk])
      if (got.length >= n) {
        socket.off('data', onData)
        socket.off('close', onClose)
        socket.pause()
        if (got.length > n) socket.unshift(got.subarray(n))
        resolve(Uint8Array.from(got.subarray(0, n)))
      }
    }
    const onClose = (): void => reject(new Error('closed before enough bytes'))
    socket.on('data', onData)
    socket.once('close', onClose)
    socket.resume()
  })
}

/**
 * A TCP relay in front of `port`. Bytes pass unchanged, except that the client→server byte at
 * stream offset `flipAt` (if given) has its low bit flipped.
 */
export async function relay (t: Tap, port: number, flipAt?: number): Promise<{ port: number, server: Server }> {
  const sockets = new Set<Socket>()
  const server = createServer((inbound) => {
    const outbound = connect({ host: '127.0.0.1', port })
    sockets.add(inbound)
    sockets.add(outbound)
    let offset = 0
    inbound.on('data', (chunk: Buffer) => {
      if (flipAt !== undefined && flipAt >= offset && flipAt < offset + chunk.length) {
        chunk = Buffer.from(chunk)
        chunk[flipAt - offset]! ^= 1
      }
      offset += chunk.length
      outbound.write(chunk)
    })
    outbound.on('data', (chunk: Buffer) => inbound.write(chunk))
    const end = (): void => { inbound.destroy(); outbound.destroy() }
    inbound.on('close', end)
    outbound.on('close', end)
    inbound.on('error', end)
    outbound.on('error', end)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => {
    for (const s of sockets) s.destroy()
    return new Promise<void>(resolve => server.close(() => resolve()))
  })
  return { port: (server.address() as AddressInfo).port, server }
}

/**
 * A raw TCP client socket from `localAddress` (any 127.0.0.0/8 address is a distinct source
 * on loopback), destroyed at teardown. A reset from the listener only closes it.
 */
export async function rawConnectFrom (t: Tap, port: number, localAddress: string): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port, localAddress })
  socket.on('error', () => {})
  t.teardown(() => socket.destroy())
  // A reset can beat the client's own view of the connect: then it only closes.
  await new Promise((resolve) => {
    socket.once('connect', resolve)
    socket.once('close', resolve)
  })
  return socket
}

/** Complete an NK or KK handshake by hand on `socket`; the listener then holds a link for it. */
export async function rawHandshake (p: Peers, socket: Socket): Promise<void> {
  const handshake = rawInitiator(p)
  socket.write(handshake.writeMessage(new Uint8Array(0)))
  handshake.readMessage(await readExactly(socket, HANDSHAKE_MESSAGE_BYTES))
  if (!handshake.complete) throw new Error('handshake not complete after message 2')
}

/** Wait until `condition` holds, looking every 10 ms; fails after `tries` looks (bounded, not a timing assertion). */
export async function until (condition: () => boolean, what: string, tries = 500): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (condition()) return
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error(`gave up waiting for ${what}`)
}
