/**
 * The client's SOCKS front door: where apps (browsers, curl, anything socks5h or socks4a)
 * hand us their TCP streams.
 *
 * It serves CONNECT (and, given their handlers, UDP ASSOCIATE and Tor's RESOLVE and RESOLVE_PTR
 * on SOCKS5, RESOLVE on SOCKS4a): SOCKS5 with no authentication and/or username/password (any
 * credentials: they are an isolation key, Tor's IsolateSOCKSAuth), and SOCKS4/4a on the same
 * port (the user ID is the isolation key; `auth` does not apply, SOCKS4 has no methods), and hands every request to `onConnect`
 * without replying: the app hears success or failure only when the handler calls accept() or
 * reject(rep), after the exit answered (DESIGN-REVIEW R20). Names are never resolved here.
 * A bad or silent app costs one connection, reported as a typed SocksError; everyone else is
 * served on. Built on socksv5's greeting parser; the rest is ours, for reasons given in
 * socks-connection.ts (server loop, replies), socks-request.ts and user-pass.ts (decoders).
 */
import type { AuthMethods } from './greeting.js'
import { DoorServer } from '../door-server.js'
import type { DoorCap, RefusalReason } from '../door-cap.js'
import { SocksConnection } from './socks-connection.js'
import type { ConnectHandler, SocksVersion, SocksWarningCode } from './socks-connection.js'
import type { ResolveHandler } from './pending-resolve.js'
import type { AssociateHandler } from './pending-associate.js'
import { SocksCounters } from './socks-counters.js'
import type { SocksCountersSnapshot } from './socks-counters.js'
import { SocksError, SocksErrorCode } from './socks-error.js'

export interface SocksFrontOptions {
  /** Listening address; keep it on loopback unless you mean to serve other machines. */
  readonly host?: string
  /** Listening port; 0 picks a free one (listen() tells which). */
  readonly port?: number
  readonly auth: AuthMethods
  /** Time an app has from connecting to a complete request (default 10 000 ms). */
  readonly handshakeTimeoutMs?: number
  /** Refuse IP-literal requests with REP 0x02 instead of only warning (Tor's SafeSocks). */
  readonly safeSocks?: boolean
  /** How long a refused app may take to read its reply and close (default 2 000 ms). */
  readonly lingerMs?: number
  readonly onConnect: ConnectHandler
  /** The bound on app connections open at once, shared with the other door (door-cap.ts); none if undefined. */
  readonly cap?: DoorCap
  /** A connection was refused at the cap or could not be accepted (counted either way). */
  readonly onRefused?: (reason: RefusalReason) => void
  /** RESOLVE (0xF0; SOCKS5 and SOCKS4a) and RESOLVE_PTR (0xF1; SOCKS5); refused as unsupported when not given. */
  readonly onResolve?: ResolveHandler
  /** SOCKS5 UDP ASSOCIATE (RFC 1928 §7); refused with REP 0x07 when not given. */
  readonly onAssociate?: AssociateHandler
  /** A request was served (or refused, with safeSocks) but is unsafe; carries no address. */
  readonly onWarning?: (code: SocksWarningCode, version: SocksVersion) => void
  /** One connection failed and was closed; the front serves on. */
  readonly onError?: (err: SocksError) => void
}

export const SOCKS_DEFAULTS = {
  host: '127.0.0.1',
  port: 1080,
  handshakeTimeoutMs: 10_000,
  lingerMs: 2_000,
} as const

export class SocksFront {
  readonly #options: SocksFrontOptions
  readonly #doors: DoorServer<SocksConnection, SocksError>

  constructor (options: SocksFrontOptions) {
    validateOptions(options)
    this.#options = options
    const counters = new SocksCounters()
    const settings = {
      auth: { none: options.auth.none, userPass: options.auth.userPass },
      safeSocks: options.safeSocks ?? false,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? SOCKS_DEFAULTS.handshakeTimeoutMs,
      lingerMs: options.lingerMs ?? SOCKS_DEFAULTS.lingerMs,
      onConnect: options.onConnect,
      onResolve: options.onResolve,
      onAssociate: options.onAssociate,
    }
    const events = {
      error: (err: SocksError) => { counters.error(err.code); this.#report(err) },
      warning: (code: SocksWarningCode, version: SocksVersion) => {
        counters.warning(code)
        callSafely(() => options.onWarning?.(code, version))
      },
      accepted: () => { counters.accepted++ },
      resolved: () => { counters.resolved++ },
      rejected: (rep: number) => { counters.rejected(rep) },
      released: (connection: SocksConnection) => { this.#doors.release(connection) },
    }
    this.#doors = new DoorServer({
      counters,
      open: (socket, atCap) => new SocksConnection(socket, settings, events, atCap),
      cap: options.cap,
      refused: options.onRefused,
      listenFailed: (message, errorOptions) => new SocksError(SocksErrorCode.LISTEN_FAILED, message, errorOptions),
      serving: 'SOCKS connections',
      report: (err) => { this.#report(err) },
    })
  }

  /** Starts listening; resolves with the actual address (useful with port 0). */
  async listen (): Promise<{ host: string, port: number }> {
    return await this.#doors.listen(this.#options.host ?? SOCKS_DEFAULTS.host, this.#options.port ?? SOCKS_DEFAULTS.port)
  }

  /**
   * Stops accepting and destroys every connection still in its handshake or waiting for an
   * answer. Streams already accepted belong to the caller and are left alone.
   */
  async close (): Promise<void> {
    await this.#doors.close()
  }

  counters (): SocksCountersSnapshot {
    return this.#doors.counters()
  }

  #report (err: SocksError): void {
    callSafely(() => this.#options.onError?.(err))
  }
}

/**
 * A reporting callback (a logger) that throws must not take down the front, which runs it
 * from socket events: its failure is dropped, the counters still hold what happened.
 */
function callSafely (fn: () => void): void {
  try { fn() } catch { /* see above */ }
}

function validateOptions (options: SocksFrontOptions): void {
  const bad = (message: string): SocksError => new SocksError(SocksErrorCode.CONFIG, message)
  if (typeof options.onConnect !== 'function') throw bad('onConnect must be a function')
  if (options.auth === undefined || (options.auth.none !== true && options.auth.userPass !== true)) {
    throw bad('auth must enable at least one of none and userPass')
  }
  const { port, handshakeTimeoutMs, lingerMs } = options
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) throw bad('port must be an integer 0..65535')
  for (const [name, value] of [['handshakeTimeoutMs', handshakeTimeoutMs], ['lingerMs', lingerMs]] as const) {
    if (value !== undefined && (!Number.isFinite(value) || value <= 0 || value > 2 ** 31 - 1)) {
      throw bad(`${name} must be a positive number of milliseconds`)
    }
  }
}
