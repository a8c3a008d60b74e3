/**
 * The client's doors for apps: the SOCKS port (SOCKS5 with Tor's RESOLVE and RESOLVE_PTR,
 * SOCKS4, SOCKS4a) and, when
 * configured, the HTTP CONNECT port. Both hand their requests to one connect handler, so a
 * stream is opened, isolated and answered the same way whichever door it came through; only
 * the last step, the bytes of the answer, is the door's own (the REP vocabulary,
 * socks-constants.ts). What goes wrong at a door is logged as counts (R19, client-log.ts),
 * never per request and never with a destination. The doors share one cap on app
 * connections open at once (door-cap.ts): `socks.maxConnections`, by default what this
 * process's open-file limit leaves room for.
 */
import type { Logger } from '../base/logger.js'
import type { ClientLog } from './client-log.js'
import { DoorCap, defaultMaxConnections } from './door-cap.js'
import { HttpFront, type HttpCountersSnapshot } from './http/index.js'
import { SocksFront, SocksWarningCode, type ConnectHandler, type ResolveHandler, type AssociateHandler, type SocksCountersSnapshot, type SocksVersion } from './socks/index.js'

export interface Address {
  readonly host: string
  readonly port: number
}

export interface FrontDoorsOptions {
  readonly socks: Address & {
    readonly auth: { readonly none: boolean, readonly userPass: boolean }
    readonly safeSocks?: boolean
    /** App connections open at once on both doors together (default: defaultMaxConnections, not sharing with an exit). */
    readonly maxConnections?: number | undefined
  }
  /** The HTTP CONNECT port; none if undefined (as Tor's HTTPTunnelPort is off by default). */
  readonly http?: Address
  readonly onConnect: ConnectHandler
  /** RESOLVE and RESOLVE_PTR (Tor's extensions): the SOCKS door only. */
  readonly onResolve?: ResolveHandler
  /** SOCKS5 UDP ASSOCIATE: the SOCKS door only. */
  readonly onAssociate?: AssociateHandler
  readonly events: ClientLog
  readonly logger: Logger
}

export interface DoorAddresses {
  readonly socks: Address
  readonly http?: Address
}

/**
 * Tor's advice for an app that gave SOCKS4 an address (connection_ap_handshake_rewrite, its
 * SafeSocks warning): with SOCKS5 the fix is socks5h, with SOCKS4 it is SOCKS4a.
 */
const UNSAFE_HINT: Readonly<Record<SocksVersion, string>> = {
  5: 'the app resolved the name itself, outside the cascade: use socks5h (remote names)',
  4: 'the app resolved the name itself, outside the cascade: use SOCKS4a (curl --socks4a) or socks5h',
}

export class FrontDoors {
  readonly #socks: SocksFront
  readonly #http: HttpFront | undefined
  readonly #cap: DoorCap
  readonly #logger: Logger

  constructor (options: FrontDoorsOptions) {
    const { events, logger } = options
    this.#logger = logger
    const cap = this.#cap = new DoorCap(options.socks.maxConnections ?? defaultMaxConnections({ sharedWithExit: false }))
    this.#socks = new SocksFront({
      host: options.socks.host,
      port: options.socks.port,
      auth: options.socks.auth,
      safeSocks: options.socks.safeSocks ?? false,
      onConnect: options.onConnect,
      cap,
      onRefused: (reason) => { events.warnings.count('door.refused', { door: 'socks', reason }) },
      ...(options.onResolve === undefined ? {} : { onResolve: options.onResolve }),
      ...(options.onAssociate === undefined ? {} : { onAssociate: options.onAssociate }),
      onWarning: (code, version) => {
        events.warnings.count('socks.unsafe_request', code === SocksWarningCode.UNSAFE_IP_LITERAL
          ? { code, version, hint: UNSAFE_HINT[version] }
          : { code, version })
      },
      onError: (err) => { events.notices.count('socks.bad_request', { code: err.code }); logger.debug('socks.bad_request.cause', { error: err.cause }) },
    })
    this.#http = options.http === undefined
      ? undefined
      : new HttpFront({
        host: options.http.host,
        port: options.http.port,
        onConnect: options.onConnect,
        cap,
        onRefused: (reason) => { events.warnings.count('door.refused', { door: 'http', reason }) },
        onError: (err) => { events.notices.count('http.bad_request', { code: err.code }); logger.debug('http.bad_request.cause', { error: err.cause }) },
      })
  }

  /** Listen on every door; if one cannot, the others are closed again and the error is thrown. */
  async listen (): Promise<DoorAddresses> {
    this.#logger.info('doors.cap', { maxConnections: this.#cap.max })
    const socks = await this.#socks.listen()
    if (this.#http === undefined) return { socks }
    try {
      return { socks, http: await this.#http.listen() }
    } catch (err) {
      await this.#socks.close()
      throw err
    }
  }

  /** Stop accepting; requests not yet answered are dropped (accepted streams are the caller's). */
  async close (): Promise<void> {
    await this.#socks.close()
    await this.#http?.close()
  }

  get socksCounters (): SocksCountersSnapshot { return this.#socks.counters() }

  /** Undefined without an HTTP door. */
  get httpCounters (): HttpCountersSnapshot | undefined { return this.#http?.counters() }
}
