/**
 * One app connection to the HTTP CONNECT door, from its first byte to the hand-off or close.
 *
 *   HEAD → PENDING → OPEN                      (accept(): the caller owns the socket)
 *        ↘ bad head, reject(), timeout → CLOSING → CLOSED
 *
 * The same life as a SOCKS connection (socks-connection.ts), so the client serves both
 * through one connect handler: the app hears 200 only when the handler calls accept(),
 * after the exit answered; reject(rep) takes the client's REP vocabulary and sends the
 * status http-status.ts maps it to. Bytes after the head are unshifted into the paused
 * socket as early data. Memory per handshake is bounded by MAX_HEAD_BYTES. What follows the
 * head (waiting for the answer, the hand-off, the linger after a failure response) is the
 * door's, shared with SOCKS (../door-connection.ts). A connection opened past the doors' cap
 * (door-cap.ts) reads its head like any other and is answered 503 at once, with no handler.
 */
import type { Socket } from 'node:net'
import type { ConnectHandler, ConnectRequest, PendingConnect } from '../socks/index.js'
import { DoorConnection, DoorState } from '../door-connection.js'
import { MAX_HEAD_BYTES, decodeConnectHead } from './connect-head.js'
import { HttpFrontError, HttpFrontErrorCode } from './http-error.js'
import { encodeConnected, encodeFailure, httpStatusForRep, reasonPhrase } from './http-status.js'

export const HttpConnectionState = {
  HEAD: 'head',
  ...DoorState,
} as const
export type HttpConnectionState = typeof HttpConnectionState[keyof typeof HttpConnectionState]

export interface HttpConnectionSettings {
  readonly handshakeTimeoutMs: number
  readonly lingerMs: number
  readonly onConnect: ConnectHandler
}

/** How a connection tells the front what happened (counting and reporting live there). */
export interface HttpConnectionEvents {
  error (err: HttpFrontError): void
  accepted (): void
  rejected (status: number): void
  /** The connection no longer needs the front: handed off (OPEN) or CLOSED. */
  released (connection: HttpConnection): void
}

const EMPTY = Buffer.alloc(0)

export class HttpConnection {
  readonly #socket: Socket
  readonly #settings: HttpConnectionSettings
  readonly #events: HttpConnectionEvents
  /** Opened past the doors' cap: the request is refused with 503 at once. */
  readonly #atCap: boolean
  readonly #door: DoorConnection<HttpConnection, typeof HttpConnectionState.HEAD>
  /** The head so far (at most MAX_HEAD_BYTES). */
  #head: Buffer = EMPTY
  readonly #pending: PendingConnect
  readonly #onData = (chunk: Buffer): void => { this.#read(chunk) }

  constructor (socket: Socket, settings: HttpConnectionSettings, events: HttpConnectionEvents, atCap = false) {
    this.#socket = socket
    this.#settings = settings
    this.#events = events
    this.#atCap = atCap
    this.#door = new DoorConnection(socket, HttpConnectionState.HEAD, settings, events, this, {
      handshakeTimedOut: () => {
        this.#fail(new HttpFrontError(HttpFrontErrorCode.HANDSHAKE_TIMEOUT, `no complete request head within ${settings.handshakeTimeoutMs} ms`, { status: 408 }))
      },
      appLeftHandshake: (err) => {
        this.#fail(new HttpFrontError(HttpFrontErrorCode.TRUNCATED, 'app closed the connection before its request head was complete',
          err === undefined ? undefined : { cause: err }))
      },
      handlerFailed: (cause) => { this.#handlerFailed(cause) },
      invalidUse: (message) => new HttpFrontError(HttpFrontErrorCode.INVALID_USE, message),
    })
    this.#pending = {
      socket,
      takeEarlyData: () => this.#door.takeEarlyData(),
      accept: () => this.#door.accept(encodeConnected()),
      reject: (rep: number) => this.#door.rejectByCaller(rep, (r) => { this.#reject(r) }),
    }
    socket.on('data', this.#onData)
  }

  get state (): HttpConnectionState {
    return this.#door.state
  }

  /** Closes at once (the front is shutting down): not the app's fault, so no error is reported. */
  destroy (): void {
    this.#door.destroy()
  }

  #read (chunk: Buffer): void {
    if (this.#door.state !== HttpConnectionState.HEAD) return
    const taken = chunk.subarray(0, MAX_HEAD_BYTES - this.#head.length)
    const bytes = this.#head.length === 0 ? taken : Buffer.concat([this.#head, taken])
    // Only a new line can complete the request line or the head (or reach the size cap):
    // decoding on other chunks would rescan the head for nothing.
    if (!taken.includes(0x0a) && bytes.length < MAX_HEAD_BYTES) {
      this.#head = Buffer.from(bytes) // a copy: never pin the app's whole chunk
      return
    }
    let decoded
    try {
      decoded = decodeConnectHead(bytes)
    } catch (err) {
      if (!(err instanceof HttpFrontError)) throw err
      this.#fail(err)
      return
    }
    if (decoded === undefined) {
      this.#head = Buffer.from(bytes)
      return
    }
    this.#head = EMPTY
    const rest = Buffer.concat([bytes.subarray(decoded.bytesRead), chunk.subarray(taken.length)])
    this.#socket.removeListener('data', this.#onData)
    this.#socket.pause()
    if (rest.length > 0) this.#socket.unshift(rest)
    this.#door.enterPending()
    this.#connect(decoded.value)
  }

  #connect (request: ConnectRequest): void {
    if (this.#atCap) {
      this.#door.state = HttpConnectionState.CLOSING
      this.#events.rejected(503)
      this.#door.closeAfter(encodeFailure(503, reasonPhrase(503), 'too many connections open at once; try again later'))
      return
    }
    this.#door.callHandler(() => this.#settings.onConnect(request, this.#pending))
  }

  /** The caller's reject(rep): the status http-status.ts maps the REP to. */
  #reject (rep: number): void {
    const { status, reason, message } = httpStatusForRep(rep)
    this.#door.state = HttpConnectionState.CLOSING
    this.#events.rejected(status)
    this.#door.closeAfter(encodeFailure(status, reason, message))
  }

  /** The handler threw or rejected: if the request is still unanswered, the app gets 502. */
  #handlerFailed (cause: unknown): void {
    const unanswered = this.#door.unanswered
    this.#events.error(new HttpFrontError(HttpFrontErrorCode.HANDLER_FAILED, 'the connect handler failed',
      unanswered ? { cause, status: 502 } : { cause }))
    if (unanswered) {
      this.#door.state = HttpConnectionState.CLOSING
      this.#events.rejected(502)
      this.#door.closeAfter(encodeFailure(502, reasonPhrase(502), 'the stream could not be opened through the cascade'))
    }
  }

  /** A failure while reading the head: report, answer if there is an answer, close this connection only. */
  #fail (err: HttpFrontError): void {
    if (this.#door.state !== HttpConnectionState.HEAD) return
    this.#door.state = HttpConnectionState.CLOSING
    this.#head = EMPTY
    this.#events.error(err)
    this.#socket.removeListener('data', this.#onData)
    if (err.status === undefined) {
      this.#door.closeAfter(undefined)
      return
    }
    this.#events.rejected(err.status)
    this.#door.closeAfter(encodeFailure(err.status, reasonPhrase(err.status), err.message))
  }
}
