/**
 * Two Links built by hand over one loopback TCP connection, for tests that need what dialLink
 * and listenLinks do not offer: a small rekeyAfterMessages, or the ciphers (to move a nonce).
 * The KK handshake runs in memory with real keys; the Links are the real class on real
 * sockets. Everything is closed through t.teardown.
 */
import { once } from 'node:events'
import { connect, createServer, type AddressInfo, type Socket } from 'node:net'
import { x25519KeyPair } from '../../src/crypto/index.js'
import { Link, type LinkInit } from '../../src/link/link.js'
import { HandshakeState, type TransportCiphers } from '../../src/link/noise/handshake.js'
import { CELL, PROLOGUE } from './loopback.js'

type Tap = { teardown: (fn: () => unknown) => void }

export interface LinkPair {
  /** The initiator's end. */
  a: Link
  /** The responder's end. */
  b: Link
}

export type PairOptions = Partial<Pick<LinkInit, 'rekeyMs' | 'rekeyAfterMessages'>> & {
  /** Called with both sides' ciphers before the Links take them (e.g. to set a nonce). */
  ciphers?: (a: TransportCiphers, b: TransportCiphers) => void
}

/** Completed KK transport ciphers for an initiator and a responder. */
export function handshakePair (): [TransportCiphers, TransportCiphers] {
  const i = x25519KeyPair()
  const r = x25519KeyPair()
  const initiator = new HandshakeState({ pattern: 'KK', initiator: true, prologue: PROLOGUE, s: i, rs: r.publicKey })
  const responder = new HandshakeState({ pattern: 'KK', initiator: false, prologue: PROLOGUE, s: r, rs: i.publicKey })
  const empty = new Uint8Array(0)
  responder.readMessage(initiator.writeMessage(empty))
  initiator.readMessage(responder.writeMessage(empty))
  return [initiator.transport(), responder.transport()]
}

/** Both ends of one loopback TCP connection. */
export async function socketPair (t: Tap): Promise<[Socket, Socket]> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const accepted = once(server, 'connection') as Promise<[Socket]>
  const client = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port })
  const [serverSide] = await accepted
  await (client.connecting ? once(client, 'connect') : Promise.resolve())
  t.teardown(() => {
    client.destroy()
    serverSide.destroy()
    return new Promise<void>(resolve => server.close(() => resolve()))
  })
  client.setNoDelay(true)
  serverSide.setNoDelay(true)
  return [client, serverSide]
}

export async function linkPair (t: Tap, options: PairOptions = {}): Promise<LinkPair> {
  const [sa, sb] = await socketPair(t)
  const [ca, cb] = handshakePair()
  options.ciphers?.(ca, cb)
  const extra = {
    ...(options.rekeyMs === undefined ? {} : { rekeyMs: options.rekeyMs }),
    ...(options.rekeyAfterMessages === undefined ? {} : { rekeyAfterMessages: options.rekeyAfterMessages }),
  }
  const empty = new Uint8Array(0)
  const a = new Link({ socket: sa, cellSize: CELL, ciphers: ca, leftover: empty, frameTimeoutMs: 10_000, ...extra })
  const b = new Link({ socket: sb, cellSize: CELL, ciphers: cb, leftover: empty, frameTimeoutMs: 10_000, ...extra })
  t.teardown(() => { a.close(); b.close() })
  return { a, b }
}
