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
import { createServer } from 'node:net'
import type { AddressInfo, Server } from 'node:net'
import type { ConnectHandler } from '../socks/index.js'
import { SocksCounters, type SocksCountersSnapshot } from '../socks/socks-counters.js'
import { HttpConnection, HttpConnectionState } from './http-connection.js'
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
  readonly #server: Server
  readonly #counters = new SocksCounters()
  readonly #live = new Set<HttpConnection>()
  #listening = false

  constructor (options: HttpFrontOptions) {
    validateOptions(options)
    this.#options = options
    const settings = {
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
      lingerMs: options.lingerMs ?? 2_000,
      onConnect: options.onConnect,
    }
    const events = {
      error: (err: HttpFrontError) => { this.#counters.error(err.code); this.#report(err) },
      accepted: () => { this.#counters.accepted++ },
      rejected: (status: number) => { this.#counters.rejected(status) },
      released: (connection: HttpConnection) => { this.#live.delete(connection) },
    }
    // allowHalfOpen: as on the SOCKS port, only the caller decides when the write side ends.
    this.#server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
      this.#counters.connections++
      this.#live.add(new HttpConnection(socket, settings, events))
    })
    this.#server.on('error', (err) => {
      if (this.#listening) {
        this.#report(new HttpFrontError(HttpFrontErrorCode.LISTEN_FAILED, 'accepting an app connection failed', { cause: err }))
      }
    })
  }

  /** Starts listening; resolves with the actual address (useful with port 0). */
  async listen (): Promise<{ host: string, port: number }> {
    const { host, port } = this.#options
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => {
        reject(new HttpFrontError(HttpFrontErrorCode.LISTEN_FAILED, 'cannot listen for HTTP CONNECT requests',
          { cause: err, detail: `${host}:${port}` }))
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

  /** Stops accepting and destroys every connection not yet handed off (as SocksFront.close). */
  async close (): Promise<void> {
    this.#listening = false
    if (this.#server.listening) this.#server.close()
    for (const connection of this.#live) connection.destroy()
    this.#live.clear()
    await new Promise<void>((resolve) => setImmediate(resolve))
  }

  counters (): HttpCountersSnapshot {
    let pending = 0
    for (const connection of this.#live) if (connection.state !== HttpConnectionState.CLOSING) pending++
    return this.#counters.snapshot(pending)
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
