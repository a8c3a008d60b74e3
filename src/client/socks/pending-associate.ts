/**
 * What the `onAssociate` handler gets for one SOCKS5 UDP ASSOCIATE (RFC 1928 §7): the request
 * and a way to answer it. As with CONNECT, nothing is sent until the handler answers. On
 * `accept(relay)` the reply carries the relay's address in BND.ADDR and BND.PORT (where the
 * app sends its datagrams) and the TCP connection is handed to the caller: the association
 * lasts as long as it does (RFC 1928 §7), and whatever the app writes on it is ignored.
 */
import type { Socket } from 'node:net'
import type { AddressKind } from './socks-request.js'

export interface AssociateRequest {
  /** The address the app says it will send from (often 0.0.0.0, port 0: not known yet). */
  readonly host: string
  readonly port: number
  readonly addressType: AddressKind
  /** RFC 1929 credentials when the app used them: the isolation key, as for CONNECT. */
  readonly username?: string
  readonly password?: string
}

export interface PendingAssociate {
  /** The TCP connection (paused); its peer address is the only source datagrams are taken from. */
  readonly socket: Socket
  /**
   * Sends the success reply with the relay's IP literal and port, and hands the socket over.
   * Returns false, sending nothing, if the app already went away; throws SOCKS_INVALID_USE if
   * the request was already answered.
   */
  accept (relay: { readonly host: string, readonly port: number }): boolean
  /** As PendingConnect.reject. */
  reject (rep: number): boolean
}

export type AssociateHandler = (request: AssociateRequest, pending: PendingAssociate) => void | Promise<void>
