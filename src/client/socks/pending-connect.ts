/**
 * What the `onConnect` handler gets for one CONNECT: the request and a way to answer it.
 *
 * The front sends no reply on its own (DESIGN-REVIEW R20): the app hears success or failure
 * only when the handler calls `accept()` or `reject(rep)`, i.e. after the exit answered.
 * The front sets no timeout on a request waiting for its answer (the caller's stream timeout
 * is the one that counts): every request must be answered, or its socket destroyed. An app
 * that half-closes meanwhile (FIN) has not left: it may still read the answer.
 */
import type { Socket } from 'node:net'
import type { AddressKind } from './socks-request.js'

export interface ConnectRequest {
  /** As the app sent it: a name (never resolved here), a dotted quad, or RFC 5952 IPv6 text. */
  readonly host: string
  readonly port: number
  readonly addressType: AddressKind
  /** RFC 1929 credentials when the app used them: the isolation key, not access control. */
  readonly username?: string
  readonly password?: string
}

export interface PendingConnect {
  /**
   * The app's socket (TCP_NODELAY set, half-open allowed), paused. Its readable side starts
   * at the first byte after the request: read it, or pipe it, once the stream is accepted.
   * The front keeps an 'error' listener on it so that an app's reset never crashes the process.
   */
  readonly socket: Socket
  /**
   * Every byte the app sent after its request that has arrived so far (optimistic data, e.g.
   * an HTTP GET pipelined with the CONNECT), in order, removed from the socket: the next byte
   * read from `socket` is the one after them. Call it before reading from the socket; it may
   * be called before accept() (to send the bytes with BEGIN) and returns [] when none came.
   */
  takeEarlyData (): Buffer[]
  /**
   * Sends the success reply (BND 0.0.0.0:0) and hands the socket to the caller for the data
   * phase; the socket stays paused until the caller reads. Returns false, sending nothing,
   * if the app already went away. Throws SOCKS_INVALID_USE if the request was already answered.
   */
  accept (): boolean
  /**
   * Sends a failure reply with REP `rep` (0x01..0xFF, e.g. socksReplyForEnd(reason)) and
   * closes the connection after the app has read it. Returns false if the app already went
   * away; throws SOCKS_INVALID_USE for a bad code or a request already answered.
   */
  reject (rep: number): boolean
}
