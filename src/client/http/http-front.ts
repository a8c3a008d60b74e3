/**
 * The client's HTTP CONNECT door (Tor's HTTPTunnelPort): for programs that know HTTP
 * proxies but not SOCKS (`curl --proxytunnel -x http://…`, undici's ProxyAgent, a browser's
 * "HTTPS proxy" setting, `https_proxy=` in the environment).
 *
 * CONNECT only: any other method gets 405 (this is a tunnel, not a full HTTP proxy, so a
 * plain `http://` URL must be tunnelled too, e.g. curl's --proxytunnel). The request goes to
 * the same connect handler as a SOCKS request, as a ConnectRequest whose credentials come
 * from `Proxy-Authorization: Basic` (an isolation key, exactly like SOCKS5 credentials; never
 * checked). The app hears `HTTP/1.0 200 OK` only after the exit answered; failures are
 * mapped from the client's REP vocabulary (http-status.ts). A bad or silent app costs one
 * connection, reported as a typed HttpFrontError; everyone else is served on.
 */
import type { ConnectHandler } from '../socks/index.js'
import { SocksCounters, type SocksCountersSnapshot } from '../socks/socks-counters.js'
import { DoorServer } from '../door-server.js'
import type { DoorCap, RefusalReason } from '../door-cap.js'
import { HttpConnection } from './http-connection.js'
import { HttpFrontError, HttpFrontErrorCode } from './http-error.js'

export interface HttpFrontOptions {
  /** Listening address; keep it on loopback unless you mean to serve other machines. */
  readonly host: string
  /** Listening port; 0 picks a free one (listen() tells which). */
  readonly port: number
  /** Time an app has from connecting to a complete request head (default 10 000 ms). */
  readonly handshakeTimeoutMs?: number
  /** How long a refused app may take to read its response and close (default 2 000 ms). */
  readonly lingerMs?: number
  readonly onConnect: ConnectHandler
  /** The bound on app connections open at once, shared with the other door (door-cap.ts); none if undefined. */
  readonly cap?: DoorCap
  /** A connection was refused at the cap or could not be accepted (counted either way). */
  readonly onRefused?: (reason: RefusalReason) => void
  /** One connection failed and was closed; the front serves on. */
  readonly onError?: (err: HttpFrontError) => void
}

/**
 * The door's counters: the SOCKS front's shape, with `rejected` keyed by HTTP status and
 * `errors` by HttpFrontError code. No warnings: an address in a CONNECT target usually comes
 * from the URL itself, not from a name the app resolved (HTTP proxy clients resolve nothing).
 */
export type HttpCountersSnapshot = SocksCountersSnapshot

export class HttpFront {
  readonly #options: HttpFrontOptions
  readonly #doors: DoorServer<HttpConnection, HttpFrontError>

  constructor (options: HttpFrontOptions) {
    validateOptions(options)
    this.#options = options
    const counters = new SocksCounters()
    const settings = {
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
      lingerMs: options.lingerMs ?? 2_000,
      onConnect: options.onConnect,
    }
    const events = {
      error: (err: HttpFrontError) => { counters.error(err.code); this.#report(err) },
      accepted: () => { counters.accepted++ },
      rejected: (status: number) => { counters.rejected(status) },
      released: (connection: HttpConnection) => { this.#doors.release(connection) },
    }
    this.#doors = new DoorServer({
      counters,
      open: (socket, atCap) => new HttpConnection(socket, settings, events, atCap),
      cap: options.cap,
      refused: options.onRefused,
      listenFailed: (message, errorOptions) => new HttpFrontError(HttpFrontErrorCode.LISTEN_FAILED, message, errorOptions),
      serving: 'HTTP CONNECT requests',
      report: (err) => { this.#report(err) },
    })
  }

  /** Starts listening; resolves with the actual address (useful with port 0). */
  async listen (): Promise<{ host: string, port: number }> {
    return await this.#doors.listen(this.#options.host, this.#options.port)
  }

  /** Stops accepting and destroys every connection not yet handed off (as SocksFront.close). */
  async close (): Promise<void> {
    await this.#doors.close()
  }

  counters (): HttpCountersSnapshot {
    return this.#doors.counters()
  }

  #report (err: HttpFrontError): void {
    try { this.#options.onError?.(err) } catch { /* a throwing logger must not take the door down */ }
  }
}

function validateOptions (options: HttpFrontOptions): void {
  const bad = (message: string): HttpFrontError => new HttpFrontError(HttpFrontErrorCode.CONFIG, message)
  if (typeof options.onConnect !== 'function') throw bad('onConnect must be a function')
  const { port, handshakeTimeoutMs, lingerMs } = options
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw bad('port must be an integer 0..65535')
  for (const [name, value] of [['handshakeTimeoutMs', handshakeTimeoutMs], ['lingerMs', lingerMs]] as const) {
    if (value !== undefined && (!Number.isFinite(value) || value <= 0 || value > 2 ** 31 - 1)) {
      throw bad(`${name} must be a positive number of milliseconds`)
    }
  }
}
