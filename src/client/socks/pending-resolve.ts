/**
 * What the `onResolve` handler gets for one RESOLVE (0xF0; SOCKS5 or SOCKS4a) or RESOLVE_PTR
 * (0xF1; SOCKS5), Tor's extensions (socks-extensions.txt §2): the request and a way to answer it.
 *
 * As with CONNECT, the front sends nothing on its own: the app hears the answer or the
 * failure only when the handler calls `answer()` or `reject(rep)`, and the connection is
 * closed after either (a RESOLVE has no data phase). Every request must be answered, or its
 * socket destroyed. Names are never resolved here.
 */
import type { AddressKind } from './socks-request.js'

export interface ResolveRequest {
  /** True for RESOLVE_PTR: `host` is an IP literal whose name is wanted. */
  readonly reverse: boolean
  /** RESOLVE: a name as the app sent it (or an IP literal); RESOLVE_PTR: an IP literal. */
  readonly host: string
  readonly addressType: AddressKind
  /** RFC 1929 credentials when the app used them: the isolation key, as for CONNECT. */
  readonly username?: string
  readonly password?: string
}

export interface PendingResolve {
  /**
   * Sends the success reply with `address` in BND.ADDR (BND.PORT 0): an IPv4 literal (ATYP 1)
   * or an IPv6 literal (ATYP 4) for RESOLVE, a host name (ATYP 3, at most 255 bytes) for
   * RESOLVE_PTR, then closes. Over SOCKS4a only an IPv4 answer fits DSTIP: any other is sent
   * as a refusal. Returns false, sending nothing, if the app already went away.
   * Throws SOCKS_INVALID_USE if the request was already answered or `address` is neither.
   */
  answer (address: string): boolean
  /** As PendingConnect.reject: a failure reply with REP `rep` (0x01..0xFF), then close. */
  reject (rep: number): boolean
}

export type ResolveHandler = (request: ResolveRequest, pending: PendingResolve) => void | Promise<void>
