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
 * socket as early data. Memory per handshake is bounded by MAX_HEAD_BYTES. After a failure
 * response the socket is ended, and what the app still sends is read and dropped until it
 * closes (bounded by the linger timer), so that the response is not lost to a TCP RST.
 */
import type { Socket } from 'node:net'
import type { ConnectHandler, ConnectRequest, PendingConnect } from '../socks/index.js'
import { MAX_HEAD_BYTES, decodeConnectHead } from './connect-head.js'
import { HttpFrontError, HttpFrontErrorCode } from './http-error.js'
import { encodeConnected, encodeFailure, httpStatusForRep, reasonPhrase } from './http-status.js'

export const HttpConnectionState = {
  HEAD: 'head',
  PENDING: 'pending',
  OPEN: 'open',
  CLOSING: 'closing',
  CLOSED: 'closed',
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
  #state: HttpConnectionState = HttpConnectionState.HEAD
  #handshakeTimer: NodeJS.Timeout | undefined
  #lingerTimer: NodeJS.Timeout | undefined
  /** The head so far (at most MAX_HEAD_BYTES). */
  #head: Buffer = EMPTY
  readonly #pending: PendingConnect
  readonly #onData = (chunk: Buffer): void => { this.#read(chunk) }

  constructor (socket: Socket, settings: HttpConnectionSettings, events: HttpConnectionEvents) {
    this.#socket = socket
    this.#settings = settings
    this.#events = events
    this.#pending = {
      socket,
      takeEarlyData: () => this.#takeEarlyData(),
      accept: () => this.#accept(),
      reject: (rep: number) => this.#rejectByCaller(rep),
    }
    socket.setNoDelay(true)
    // Kept for the socket's whole life: an app's reset must never become an unhandled 'error'.
    socket.on('error', (err) => { this.#onSocketGone(err) })
    socket.on('end', () => { this.#onSocketGone(undefined) })
    socket.on('close', () => { this.#onClose() })
    this.#handshakeTimer = setTimeout(() => {
      this.#fail(new HttpFrontError(HttpFrontErrorCode.HANDSHAKE_TIMEOUT, `no complete request head within ${settings.handshakeTimeoutMs} ms`, { status: 408 }))
    }, settings.handshakeTimeoutMs)
    socket.on('data', this.#onData)
  }

  get state (): HttpConnectionState {
    return this.#state
  }

  /** Closes at once (the front is shutting down): not the app's fault, so no error is reported. */
  destroy (): void {
    this.#clearTimers()
    if (this.#state !== HttpConnectionState.OPEN) this.#state = HttpConnectionState.CLOSED
    this.#socket.destroy()
  }

  #read (chunk: Buffer): void {
    if (this.#state !== HttpConnectionState.HEAD) return
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
    clearTimeout(this.#handshakeTimer)
    this.#handshakeTimer = undefined
    this.#state = HttpConnectionState.PENDING
    this.#connect(decoded.value)
  }

  #connect (request: ConnectRequest): void {
    try {
      const result = this.#settings.onConnect(request, this.#pending)
      if (result !== undefined && typeof result.then === 'function') {
        result.then(undefined, (err: unknown) => { this.#handlerFailed(err) })
      }
    } catch (err) {
      this.#handlerFailed(err)
    }
  }

  #takeEarlyData (): Buffer[] {
    if (this.#state !== HttpConnectionState.PENDING && this.#state !== HttpConnectionState.OPEN) return []
    const chunks: Buffer[] = []
    for (let chunk = this.#socket.read() as Buffer | null; chunk !== null; chunk = this.#socket.read() as Buffer | null) {
      chunks.push(chunk)
    }
    return chunks
  }

  #accept (): boolean {
    if (this.#appGone()) return false
    this.#assertPending('accept')
    this.#state = HttpConnectionState.OPEN
    this.#socket.write(encodeConnected())
    this.#events.accepted()
    this.#events.released(this)
    return true
  }

  #rejectByCaller (rep: number): boolean {
    if (!Number.isInteger(rep) || rep < 0x01 || rep > 0xff) {
      throw new HttpFrontError(HttpFrontErrorCode.INVALID_USE, 'reject() needs a failure REP code, 0x01..0xFF')
    }
    if (this.#appGone()) return false
    this.#assertPending('reject')
    const { status, reason, message } = httpStatusForRep(rep)
    this.#state = HttpConnectionState.CLOSING
    this.#events.rejected(status)
    this.#closeAfter(encodeFailure(status, reason, message))
    return true
  }

  /** The handler threw or rejected: if the request is still unanswered, the app gets 502. */
  #handlerFailed (cause: unknown): void {
    const unanswered = this.#state === HttpConnectionState.PENDING && !this.#appGone()
    this.#events.error(new HttpFrontError(HttpFrontErrorCode.HANDLER_FAILED, 'the connect handler failed',
      unanswered ? { cause, status: 502 } : { cause }))
    if (unanswered) {
      this.#state = HttpConnectionState.CLOSING
      this.#events.rejected(502)
      this.#closeAfter(encodeFailure(502, reasonPhrase(502), 'the stream could not be opened through the cascade'))
    }
  }

  #appGone (): boolean {
    return this.#state === HttpConnectionState.CLOSED || this.#socket.destroyed
  }

  #assertPending (what: string): void {
    if (this.#state !== HttpConnectionState.PENDING) {
      throw new HttpFrontError(HttpFrontErrorCode.INVALID_USE, `${what}() on a request already answered (state ${this.#state})`)
    }
  }

  /** A failure while reading the head: report, answer if there is an answer, close this connection only. */
  #fail (err: HttpFrontError): void {
    if (this.#state !== HttpConnectionState.HEAD) return
    this.#state = HttpConnectionState.CLOSING
    this.#events.error(err)
    this.#socket.removeListener('data', this.#onData)
    if (err.status === undefined) {
      this.#closeAfter(undefined)
      return
    }
    this.#events.rejected(err.status)
    this.#closeAfter(encodeFailure(err.status, reasonPhrase(err.status), err.message))
  }

  #closeAfter (response: Buffer | undefined): void {
    this.#clearTimers()
    this.#head = EMPTY
    if (!this.#socket.destroyed) {
      if (response === undefined) this.#socket.end()
      else this.#socket.end(response)
      this.#socket.resume() // read and drop until the app closes: see the file comment
    }
    this.#lingerTimer = setTimeout(() => { this.#socket.destroy() }, this.#settings.lingerMs)
    this.#lingerTimer.unref()
  }

  #onSocketGone (err: Error | undefined): void {
    if (this.#state === HttpConnectionState.HEAD) {
      this.#fail(new HttpFrontError(HttpFrontErrorCode.TRUNCATED, 'app closed the connection before its request head was complete',
        err === undefined ? undefined : { cause: err }))
    }
  }

  #onClose (): void {
    this.#onSocketGone(undefined)
    const handedOff = this.#state === HttpConnectionState.OPEN
    this.#state = HttpConnectionState.CLOSED
    this.#clearTimers()
    if (!handedOff) this.#events.released(this)
  }

  #clearTimers (): void {
    clearTimeout(this.#handshakeTimer)
    clearTimeout(this.#lingerTimer)
    this.#handshakeTimer = undefined
    this.#lingerTimer = undefined
  }
}
