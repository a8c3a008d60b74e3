/**
 * The client's end of one UDP association (SOCKS5 UDP ASSOCIATE, RFC 1928 §7; PROTOCOL.md
 * §7.3, §11.4): a UDP socket on the SOCKS host that the app sends its datagrams to, tied to
 * one stream of one circuit.
 *
 * Only datagrams from the app's own IP address (its SOCKS connection's peer) are taken, and
 * from the first port one came from (or the port the app named in its request): anyone else
 * is dropped, as the RFC requires. Each datagram's destination goes to the exit unresolved in
 * a DATAGRAM cell; one that does not fit a cell, or finds no circuit credit, is dropped (a
 * datagram is never split, never queued). What the exit sends back goes to the app with the
 * RFC's header. The association ends with the app's TCP connection, or with the stream.
 */
import dgram from 'node:dgram'
import { isIPv4, type Socket } from 'node:net'
import { ProtocolError } from '../protocol/errors.js'
import { decodeDatagram, encodeDatagram } from '../protocol/datagram.js'
import { decodeUdpDatagram, encodeUdpDatagram } from './socks/index.js'

export interface UdpCounters {
  datagramsFromApps: number
  datagramsToApps: number
  datagramsDropped: number
}

export interface UdpRelayOptions {
  /** The SOCKS listening host: the relay binds there (an IP literal). */
  readonly host: string
  /** The app's SOCKS connection: its peer is the app; its close ends the association. */
  readonly control: Socket
  /** The port the app said it sends from; 0: take the first datagram's. */
  readonly appPort: number
  /** The data room of one forward relay payload. */
  readonly maxBodyBytes: number
  readonly counters: UdpCounters
}

export class UdpRelay {
  private readonly options: UdpRelayOptions
  private readonly socket: dgram.Socket
  private readonly appAddress: string
  private appPort: number
  private send: ((body: Uint8Array) => boolean) | undefined
  private closed = false
  private readonly onClosed: Array<() => void> = []

  private constructor (options: UdpRelayOptions, socket: dgram.Socket) {
    this.options = options
    this.socket = socket
    this.appAddress = unmapped(options.control.remoteAddress ?? '')
    this.appPort = options.appPort
    socket.on('message', (message, from) => this.fromApp(message, from))
    socket.on('error', () => this.close())
    // The association lasts as long as the TCP connection; what the app writes on it is dropped.
    // The front allows half-open connections, so the app's FIN ('end') ends it too.
    options.control.on('data', () => {})
    options.control.on('end', () => this.close())
    options.control.on('close', () => this.close())
    options.control.resume()
  }

  /** Bind a relay on `options.host` (port chosen by the system). */
  static async bind (options: UdpRelayOptions): Promise<UdpRelay> {
    const socket = dgram.createSocket(isIPv4(options.host) ? 'udp4' : 'udp6')
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject)
      socket.bind(0, options.host, () => { socket.off('error', reject); resolve() })
    })
    return new UdpRelay(options, socket)
  }

  get isClosed (): boolean { return this.closed }

  /**
   * Where the app sends its datagrams (the UDP ASSOCIATE reply's BND). On a wildcard SOCKS
   * address (0.0.0.0, ::) that is the address the app reached the SOCKS port on.
   */
  get address (): { host: string, port: number } {
    const { address, port } = this.socket.address()
    const wildcard = address === '0.0.0.0' || address === '::'
    return { host: wildcard ? unmapped(this.options.control.localAddress ?? address) : address, port }
  }

  /** The exit accepted the association: datagrams flow from now on through `send`. */
  attach (send: (body: Uint8Array) => boolean): void {
    this.send = send
  }

  /** Run `fn` once the association ends (either side). */
  whenClosed (fn: () => void): void {
    if (this.closed) fn()
    else this.onClosed.push(fn)
  }

  /** A DATAGRAM from the exit: to the app, with the RFC 1928 header naming its source. */
  fromExit (body: Uint8Array): void {
    if (this.closed) return
    let datagram
    try {
      datagram = decodeDatagram(body)
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err
      this.options.counters.datagramsDropped++
      return
    }
    if (this.appPort === 0) { this.options.counters.datagramsDropped++; return }
    const counters = this.options.counters
    // A failed send (the app's socket is gone) loses this datagram only.
    this.socket.send(encodeUdpDatagram(datagram.host, datagram.port, datagram.payload), this.appPort, this.appAddress, (err) => {
      if (err === null) counters.datagramsToApps++
      else counters.datagramsDropped++
    })
  }

  /** End the association; once it was accepted, its TCP connection too (before, the front closes it after its reply). */
  close (): void {
    if (this.closed) return
    this.closed = true
    this.socket.close()
    if (this.send !== undefined) this.options.control.destroy()
    for (const fn of this.onClosed.splice(0)) fn()
  }

  private fromApp (message: Buffer, from: dgram.RemoteInfo): void {
    const counters = this.options.counters
    if (unmapped(from.address) !== this.appAddress || (this.appPort !== 0 && from.port !== this.appPort)) {
      counters.datagramsDropped++
      return
    }
    const datagram = decodeUdpDatagram(message)
    if (datagram === undefined || this.send === undefined) { counters.datagramsDropped++; return }
    this.appPort = from.port
    const body = encodeDatagram({ host: datagram.host, port: datagram.port }, datagram.payload)
    if (body.length > this.options.maxBodyBytes || !this.send(body)) { counters.datagramsDropped++; return }
    counters.datagramsFromApps++
  }
}

/** `::ffff:127.0.0.1` (an IPv4 peer of a dual-stack socket) as `127.0.0.1`. */
function unmapped (address: string): string {
  return address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address
}
