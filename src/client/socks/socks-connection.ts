/**
 * One app connection to the front door, from its first byte to the hand-off or the close.
 *
 *   GREETING → (AUTH) → REQUEST → PENDING → OPEN        (accept(): the caller owns the socket)
 *            ↘ any failure, reject(), timeout → CLOSING → CLOSED
 *
 * The first byte says which SOCKS it is: 5 goes on as above; 4 (SOCKS4/4a, socks4-request.ts)
 * skips the greeting and authentication (its request carries the user ID) and goes straight to
 * REQUEST; the rest of the life is the same, with SOCKS4's 8-byte replies. Anything else goes
 * to socksv5's greeting parser, which refuses it as a bad version. A RESOLVE or RESOLVE_PTR
 * (Tor's extensions) goes PENDING → CLOSING instead of OPEN: its answer is the
 * reply, and the connection closes after it (pending-resolve.ts). A UDP ASSOCIATE goes to
 * OPEN like a CONNECT, its reply naming the UDP relay (pending-associate.ts).
 *
 * Why not socksv5's Server, which would do all of this: it answers unsupported commands and
 * denials with a 2-byte, malformed reply (05 07 / 05 02) and cannot send any other REP; it
 * closes on a bad greeting or request without a reply and without telling us why (no error
 * reaches its user, so no typed error or counter is possible); it has no handshake timeout;
 * it formats IPv6 destinations wrongly; and its accept() resumes the socket on the next tick,
 * which drops any early data nobody is listening for yet. We keep its greeting parser
 * (greeting.ts) and drive it, our RFC 1929 decoder (user-pass.ts) and our request decoder
 * (socks-request.ts) from this state machine.
 *
 * No byte is lost: socksv5's parser unshifts the bytes after the greeting into the paused
 * socket; our decoders take exactly their message from each chunk and pass the rest on, and
 * the bytes after the request are unshifted back into the socket, now paused, for the caller.
 * Memory per handshake is bounded: at most 255 method bytes, 513 credential bytes or 262
 * request bytes, plus the socket's own buffer, which stops reading from the kernel while
 * paused (TCP back-pressure then holds the app).
 *
 * A connection opened past the doors' cap (door-cap.ts) lives the same handshake, so the app
 * can read its answer, and is then refused with REP 0x01 (SOCKS4: 0x5B) whatever it asked,
 * without calling a handler: Tor answers its resource limits so.
 *
 * What follows the request (waiting for the answer, the hand-off, the linger after a failure
 * reply) is the door's, shared with the HTTP CONNECT door (../door-connection.ts).
 */
import type { Socket } from 'node:net'
import { DoorConnection, DoorState } from '../door-connection.js'
import { readGreeting, selectMethod } from './greeting.js'
import type { AuthMethods } from './greeting.js'
import type { ConnectRequest, PendingConnect } from './pending-connect.js'
import type { PendingResolve, ResolveHandler } from './pending-resolve.js'
import type { AssociateHandler, PendingAssociate } from './pending-associate.js'
import { Command, Method, Rep, SOCKS4_VERSION } from './socks-constants.js'
import { SocksError, SocksErrorCode } from './socks-error.js'
import { encodeMethodSelection, encodeReply, encodeResolveReply, encodeUserPassFailure, encodeUserPassSuccess } from './socks-reply.js'
import { MAX_REQUEST_BYTES, decodeRequest } from './socks-request.js'
import type { Decoded, SocksRequest } from './socks-request.js'
import { MAX_SOCKS4_REQUEST_BYTES, decodeSocks4Request, encodeSocks4Answer, encodeSocks4Reply, type Socks4Request } from './socks4-request.js'
import { MAX_USER_PASS_BYTES, decodeUserPass } from './user-pass.js'
import type { Credentials } from './user-pass.js'

export const ConnectionState = {
  GREETING: 'greeting',
  AUTH: 'auth',
  REQUEST: 'request',
  ...DoorState,
} as const
export type ConnectionState = typeof ConnectionState[keyof typeof ConnectionState]

export const SocksWarningCode = {
  /** The app sent an IP address, so it resolved the name itself (socks5, not socks5h): a DNS leak. */
  UNSAFE_IP_LITERAL: 'SOCKS_UNSAFE_IP_LITERAL',
} as const
export type SocksWarningCode = typeof SocksWarningCode[keyof typeof SocksWarningCode]

export type ConnectHandler = (request: ConnectRequest, pending: PendingConnect) => void | Promise<void>

/** The SOCKS version an app speaks, known from its first byte. */
export type SocksVersion = 4 | 5

/** What differs between the versions after the handshake: the request and the reply bytes. */
interface Dialect {
  readonly version: SocksVersion
  readonly maxRequestBytes: number
  readonly decode: (bytes: Uint8Array) => Decoded<SocksRequest | Socks4Request> | undefined
  readonly reply: (rep: number) => Buffer
  /** The success reply carrying a RESOLVE's answer; undefined when it has no room for it (SOCKS4: IPv4 only). */
  readonly answer: (address: string) => Buffer | undefined
}
const SOCKS5: Dialect = { version: 5, maxRequestBytes: MAX_REQUEST_BYTES, decode: decodeRequest, reply: encodeReply, answer: (a) => encodeResolveReply(a) }
const SOCKS4: Dialect = { version: 4, maxRequestBytes: MAX_SOCKS4_REQUEST_BYTES, decode: decodeSocks4Request, reply: encodeSocks4Reply, answer: encodeSocks4Answer }

export interface ConnectionSettings {
  readonly auth: AuthMethods
  readonly safeSocks: boolean
  readonly handshakeTimeoutMs: number
  readonly lingerMs: number
  readonly onConnect: ConnectHandler
  /** RESOLVE and RESOLVE_PTR; without it they are refused as unsupported commands (REP 0x07). */
  readonly onResolve: ResolveHandler | undefined
  /** UDP ASSOCIATE; without it it is refused as an unsupported command (REP 0x07). */
  readonly onAssociate: AssociateHandler | undefined
}

/** How a connection tells the front what happened (counting and reporting live there). */
export interface ConnectionEvents {
  error (err: SocksError): void
  warning (code: SocksWarningCode, version: SocksVersion): void
  accepted (): void
  /** A RESOLVE or RESOLVE_PTR was answered with success. */
  resolved (): void
  rejected (rep: number): void
  /** The connection no longer needs the front: handed off (OPEN) or CLOSED. */
  released (connection: SocksConnection): void
}

const EMPTY = Buffer.alloc(0)

type Handshake = typeof ConnectionState.GREETING | typeof ConnectionState.AUTH | typeof ConnectionState.REQUEST

export class SocksConnection {
  readonly #socket: Socket
  readonly #settings: ConnectionSettings
  readonly #events: ConnectionEvents
  /** Opened past the doors' cap: the request is refused at once. */
  readonly #atCap: boolean
  readonly #door: DoorConnection<SocksConnection, Handshake>
  #stopGreeting: (() => void) | undefined
  #credentials: Credentials | undefined
  #dialect: Dialect = SOCKS5
  /** Bytes of an RFC 1929 request or a SOCKS request that is not complete yet. */
  #partial: Buffer = EMPTY
  /** What the handler sees: only the socket and the three ways to answer. */
  readonly #pending: PendingConnect
  readonly #onData = (chunk: Buffer): void => { this.#read(chunk) }
  readonly #onFirstData = (chunk: Buffer): void => { this.#dispatch(chunk) }

  constructor (socket: Socket, settings: ConnectionSettings, events: ConnectionEvents, atCap = false) {
    this.#socket = socket
    this.#settings = settings
    this.#events = events
    this.#atCap = atCap
    this.#door = new DoorConnection<SocksConnection, Handshake>(socket, ConnectionState.GREETING, settings, events, this, {
      handshakeTimedOut: () => {
        this.#fail(new SocksError(SocksErrorCode.HANDSHAKE_TIMEOUT, `no complete SOCKS request within ${settings.handshakeTimeoutMs} ms`))
      },
      appLeftHandshake: (err) => {
        this.#fail(new SocksError(SocksErrorCode.TRUNCATED, 'app closed the connection before its request was complete',
          err === undefined ? undefined : { cause: err }))
      },
      handlerFailed: (cause) => { this.#handlerFailed(cause) },
      invalidUse: (message) => new SocksError(SocksErrorCode.INVALID_USE, message),
    })
    this.#pending = {
      socket,
      takeEarlyData: () => this.#door.takeEarlyData(),
      accept: () => this.#door.accept(this.#dialect.reply(Rep.SUCCEEDED)),
      reject: (rep: number) => this.#door.rejectByCaller(rep, (r) => { this.#reject(r) }),
    }
    socket.on('data', this.#onFirstData)
  }

  get state (): ConnectionState {
    return this.#door.state
  }

  /** Closes at once (the front is shutting down): not the app's fault, so no error is reported. */
  destroy (): void {
    this.#door.destroy()
  }

  /** The first bytes: back into the paused socket, for the reader of the version they name. */
  #dispatch (chunk: Buffer): void {
    this.#socket.removeListener('data', this.#onFirstData)
    this.#socket.pause()
    this.#socket.unshift(chunk)
    if (chunk[0] === SOCKS4_VERSION) {
      this.#dialect = SOCKS4
      this.#door.state = ConnectionState.REQUEST
      this.#socket.on('data', this.#onData)
      this.#socket.resume()
      return
    }
    this.#stopGreeting = readGreeting(this.#socket, (methods) => { this.#onMethods(methods) }, (err) => { this.#fail(err) })
  }

  #onMethods (methods: Uint8Array): void {
    if (this.#door.state !== ConnectionState.GREETING) return
    this.#stopGreeting = undefined
    const method = selectMethod(methods, this.#settings.auth)
    if (method === undefined) {
      this.#fail(new SocksError(SocksErrorCode.NO_ACCEPTABLE_METHOD, 'app offers no method this front accepts'),
        encodeMethodSelection(Method.NO_ACCEPTABLE))
      return
    }
    this.#socket.write(encodeMethodSelection(method))
    this.#door.state = method === Method.USER_PASS ? ConnectionState.AUTH : ConnectionState.REQUEST
    this.#socket.on('data', this.#onData)
    this.#socket.resume()
  }

  /** AUTH and REQUEST: one listener, so bytes after the credentials go straight on. */
  #read (chunk: Buffer): void {
    try {
      let rest = chunk
      if (this.#door.state === ConnectionState.AUTH) {
        const auth = this.#decodeFrom(rest, MAX_USER_PASS_BYTES, decodeUserPass)
        if (auth === undefined) return
        this.#credentials = auth.value
        this.#socket.write(encodeUserPassSuccess())
        this.#door.state = ConnectionState.REQUEST
        rest = auth.rest
        if (rest.length === 0) return
      }
      if (this.#door.state !== ConnectionState.REQUEST) return
      const request = this.#decodeFrom<SocksRequest | Socks4Request>(rest, this.#dialect.maxRequestBytes, this.#dialect.decode)
      if (request === undefined) return
      this.#socket.removeListener('data', this.#onData)
      this.#socket.pause()
      if (request.rest.length > 0) this.#socket.unshift(request.rest)
      this.#onRequest(request.value)
    } catch (err) {
      if (!(err instanceof SocksError)) throw err
      if (this.#door.state === ConnectionState.AUTH) this.#fail(err, encodeUserPassFailure())
      else this.#fail(err, err.rep === undefined ? undefined : this.#dialect.reply(err.rep))
    }
  }

  /**
   * Adds at most what one message can hold (`max`) to the partial bytes and decodes them.
   * Returns the message and every byte of `chunk` after it, or undefined if it is not complete
   * (a message of `max` bytes always is, so the partial bytes never exceed `max`).
   */
  #decodeFrom<T> (chunk: Buffer, max: number, decode: (bytes: Uint8Array) => Decoded<T> | undefined): { value: T, rest: Buffer } | undefined {
    const taken = chunk.subarray(0, max - this.#partial.length)
    const bytes = this.#partial.length === 0 ? taken : Buffer.concat([this.#partial, taken])
    const decoded = decode(bytes)
    if (decoded === undefined) {
      this.#partial = Buffer.from(bytes) // a copy: never pin the app's whole chunk
      return undefined
    }
    this.#partial = EMPTY
    const tail = bytes.subarray(decoded.bytesRead)
    const rest = chunk.subarray(taken.length)
    return { value: decoded.value, rest: tail.length === 0 ? rest : Buffer.concat([tail, rest]) }
  }

  #onRequest (request: SocksRequest | Socks4Request): void {
    if (this.#atCap) { this.#reject(Rep.GENERAL_FAILURE); return }
    const resolve = request.command === Command.RESOLVE || request.command === Command.RESOLVE_PTR
    // RESOLVE on both versions (Tor serves it over SOCKS4a too: tor-resolve -4), RESOLVE_PTR on SOCKS5 only.
    const onResolve = this.#dialect === SOCKS5 || request.command === Command.RESOLVE ? this.#settings.onResolve : undefined
    const onAssociate = this.#dialect === SOCKS5 && request.command === Command.UDP_ASSOCIATE ? this.#settings.onAssociate : undefined
    if (request.command !== Command.CONNECT && !(resolve && onResolve !== undefined) && onAssociate === undefined) {
      const err = new SocksError(SocksErrorCode.COMMAND_UNSUPPORTED, `command ${request.command} is not supported`,
        { rep: Rep.COMMAND_NOT_SUPPORTED })
      this.#fail(err, this.#dialect.reply(Rep.COMMAND_NOT_SUPPORTED))
      return
    }
    if (request.command === Command.RESOLVE_PTR && request.addressType === 'hostname') {
      this.#fail(new SocksError(SocksErrorCode.ADDRESS_TYPE_UNSUPPORTED, 'RESOLVE_PTR needs an IPv4 or IPv6 address',
        { rep: Rep.ADDRESS_TYPE_NOT_SUPPORTED }), this.#dialect.reply(Rep.ADDRESS_TYPE_NOT_SUPPORTED))
      return
    }
    this.#door.enterPending()
    // SOCKS4's user ID plays the part of RFC 1929's username (Tor does the same).
    if ('userId' in request && request.userId !== undefined) this.#credentials = { username: request.userId, password: '' }
    const credentials = this.#credentials === undefined ? {} : { username: this.#credentials.username, password: this.#credentials.password }
    if (onAssociate !== undefined) {
      const pending: PendingAssociate = { socket: this.#socket, accept: (relay) => this.#door.accept(encodeResolveReply(relay.host, relay.port)), reject: this.#pending.reject }
      this.#door.callHandler(() => onAssociate({ host: request.host, port: request.port, addressType: request.addressType, ...credentials }, pending))
      return
    }
    if (resolve && onResolve !== undefined) {
      // An address in a RESOLVE is no leak (nothing was resolved outside), so no SafeSocks here.
      const pending: PendingResolve = { answer: (address) => this.#answer(address), reject: this.#pending.reject }
      const reverse = request.command === Command.RESOLVE_PTR
      this.#door.callHandler(() => onResolve({ reverse, host: request.host, addressType: request.addressType, ...credentials }, pending))
      return
    }
    if (request.addressType !== 'hostname') {
      this.#events.warning(SocksWarningCode.UNSAFE_IP_LITERAL, this.#dialect.version)
      if (this.#settings.safeSocks) {
        this.#reject(Rep.NOT_ALLOWED)
        return
      }
    }
    const connect: ConnectRequest = { host: request.host, port: request.port, addressType: request.addressType, ...credentials }
    this.#door.callHandler(() => this.#settings.onConnect(connect, this.#pending))
  }

  /** A RESOLVE's answer is its reply; the connection then closes like a refused one. */
  #answer (address: string): boolean {
    if (!this.#door.answerable('answer')) return false
    const reply = this.#dialect.answer(address) // throws SOCKS_INVALID_USE before any state changes
    if (reply === undefined) { this.#reject(Rep.GENERAL_FAILURE); return true }
    this.#door.state = ConnectionState.CLOSING
    this.#events.resolved()
    this.#door.closeAfter(reply)
    return true
  }

  #reject (rep: number): void {
    this.#door.state = ConnectionState.CLOSING
    this.#events.rejected(rep)
    this.#door.closeAfter(this.#dialect.reply(rep))
  }

  /** The handler threw or rejected: if the request is still unanswered, the app gets REP 0x01. */
  #handlerFailed (cause: unknown): void {
    const unanswered = this.#door.unanswered
    this.#events.error(new SocksError(SocksErrorCode.HANDLER_FAILED, 'the connect handler failed',
      unanswered ? { cause, rep: Rep.GENERAL_FAILURE } : { cause }))
    if (unanswered) this.#reject(Rep.GENERAL_FAILURE)
  }

  /** A handshake failure: report, answer if there is an answer, close this connection only. */
  #fail (err: SocksError, reply?: Buffer): void {
    if (!this.#door.handshaking) return
    this.#stopGreeting?.()
    this.#stopGreeting = undefined
    this.#door.state = ConnectionState.CLOSING
    this.#partial = EMPTY
    this.#events.error(err)
    if (err.rep !== undefined) this.#events.rejected(err.rep)
    // During the handshake only our parsers listen; they must not see what comes next.
    this.#socket.removeAllListeners('data')
    this.#door.closeAfter(reply)
  }
}
