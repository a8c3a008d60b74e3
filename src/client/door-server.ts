/**
 * The listening side of a front door (SOCKS, HTTP CONNECT), whatever protocol its apps
 * speak: the server, the connections not yet handed off, their count for /metrics, and
 * closing. The front (socks-front.ts, http-front.ts) gives what differs: how to open a
 * connection on a new socket, and its own errors.
 *
 * With a cap (door-cap.ts, shared by the doors), each socket is admitted at accept and given
 * back at its close, whoever owns it by then: past the cap the front opens it as a refusal
 * (answered at once), or, with no refusal slot left, it is destroyed unread. Refusals and
 * accept failures are counted by reason and reported through `refused`.
 */
import { createServer } from 'node:net'
import type { AddressInfo, Server, Socket } from 'node:net'
import { DoorState } from './door-connection.js'
import { RefusalReason, type Admission, type DoorCap } from './door-cap.js'
import type { SocksCounters, SocksCountersSnapshot } from './socks/socks-counters.js'

/** What the server needs of a connection it keeps until the connection is released. */
export interface LiveConnection {
  readonly state: string
  destroy (): void
}

export interface DoorServerOptions<Connection, DoorError extends Error> {
  readonly counters: SocksCounters
  /** The protocol's connection for a new app socket; `refuse`: answer its request with a refusal at once. */
  readonly open: (socket: Socket, refuse: boolean) => Connection
  /** The door's LISTEN_FAILED error. */
  readonly listenFailed: (message: string, options: { cause: unknown, detail?: string }) => DoorError
  /** What listen() fails to listen for, in its error message ("SOCKS connections"). */
  readonly serving: string
  /** Reports an accept failure after listen() resolved; the server listens on. */
  readonly report: (err: DoorError) => void
  /** The bound on app connections open at once, shared by the doors; none if undefined. */
  readonly cap?: DoorCap | undefined
  /** A connection was refused (at the cap, or accept failed): for a log line per interval. */
  readonly refused?: ((reason: RefusalReason) => void) | undefined
}

export class DoorServer<Connection extends LiveConnection, DoorError extends Error> {
  readonly #options: DoorServerOptions<Connection, DoorError>
  readonly #server: Server
  /** Connections in the handshake, waiting for an answer, or lingering after a refusal. */
  readonly #live = new Set<Connection>()
  #listening = false
  /** App sockets accepted through this door and not yet closed, handed off or not. */
  #open = 0

  constructor (options: DoorServerOptions<Connection, DoorError>) {
    this.#options = options
    // allowHalfOpen: an app may send its request and half-close; the data phase must still
    // carry the answer back, so only the caller decides when the write side ends.
    this.#server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => { this.#accept(socket) })
    this.#server.on('error', (err) => {
      // Before listen() resolves, listen() reports it; afterwards (EMFILE while accepting: libuv
      // has closed the kernel's connection unanswered) it is reported here, and the server keeps
      // listening.
      if (!this.#listening) return
      this.#refused(RefusalReason.ACCEPT_FAILED)
      options.report(options.listenFailed('accepting an app connection failed', { cause: err }))
    })
  }

  #accept (socket: Socket): void {
    const options = this.#options
    options.counters.connections++
    const admission: Admission = options.cap?.admit() ?? 'serve'
    if (admission !== 'serve') this.#refused(RefusalReason.CAP)
    if (admission === 'drop') {
      socket.on('error', () => {}) // a reset while closing is no news
      socket.destroy()
      return
    }
    this.#open++
    socket.once('close', () => {
      this.#open--
      options.cap?.leave(admission)
    })
    this.#live.add(options.open(socket, admission === 'refuse'))
  }

  #refused (reason: RefusalReason): void {
    this.#options.counters.refused(reason)
    try { this.#options.refused?.(reason) } catch { /* a throwing logger must not take the door down */ }
  }

  /** Starts listening; resolves with the actual address (useful with port 0). */
  async listen (host: string, port: number): Promise<{ host: string, port: number }> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => {
        reject(this.#options.listenFailed(`cannot listen for ${this.#options.serving}`, { cause: err, detail: `${host}:${port}` }))
      }
      this.#server.once('error', onError)
      this.#server.listen(port, host, () => {
        this.#server.off('error', onError)
        resolve()
      })
    })
    this.#listening = true
    const address = this.#server.address() as AddressInfo
    return { host: address.address, port: address.port }
  }

  /** The connection no longer needs the server: handed off, or closed. */
  release (connection: Connection): void {
    this.#live.delete(connection)
  }

  /**
   * Stops accepting and destroys every connection still in its handshake or waiting for an
   * answer. Streams already accepted belong to the caller and are left alone.
   */
  async close (): Promise<void> {
    this.#listening = false
    if (this.#server.listening) this.#server.close()
    for (const connection of this.#live) connection.destroy()
    this.#live.clear()
    // The listening handle is closed synchronously; wait one turn so 'close' events of the
    // destroyed sockets have run before the caller goes on.
    await new Promise<void>((resolve) => setImmediate(resolve))
  }

  /** The counters, with the connections in the handshake or waiting for an answer as pending. */
  counters (): SocksCountersSnapshot {
    let pending = 0
    for (const connection of this.#live) if (connection.state !== DoorState.CLOSING) pending++
    return this.#options.counters.snapshot(pending, { open: this.#open, maxOpen: this.#options.cap?.max ?? Infinity })
  }
}
