/**
 * One UDP association at the exit (SOCKS UDP ASSOCIATE, PROTOCOL.md §7.3, §11.3): the
 * datagrams of one stream of one circuit, sent from the exit's own UDP sockets.
 *
 * Every destination is checked against the exit policy as a BEGIN's address is (a name is
 * resolved once per association by the pinned resolver, and only an allowed address is ever
 * sent to, by IP literal); a refused destination drops its datagrams. What comes back is
 * passed on only from a host:port this association has sent to (address-and-port-dependent
 * filtering, as a careful NAT does), named as the client last named it, so no other host can
 * write into the association and the exit never reveals an address it resolved. Bounds: at
 * most `maxDestinations` destinations, one socket per address family (each an outbound
 * socket slot), a few datagrams waiting per name being resolved, and no datagram larger than
 * one cell; the association ends after `idleMs` without a datagram either way. Everything
 * over a bound is dropped and counted, never queued: UDP may lose datagrams.
 */
import dgram from 'node:dgram'
import { isIP } from 'node:net'
import { encodeDatagram, type DecodedDatagram } from '../protocol/datagram.js'
import { EndReason, endReasonForErrno } from '../protocol/end-reason.js'
import { parseIpAddress, type IpAddress } from './ip-address.js'
import type { PolicyCheck } from './outbound.js'
import type { HostResolver } from './resolver.js'
import type { Slots } from './slots.js'

/** Datagrams that wait for their destination's name to resolve (more are dropped). */
const MAX_WAITING = 4

export interface UdpCounters {
  datagramsToHosts: number
  datagramsFromHosts: number
  datagramsDropped: number
}

export interface UdpAssociationOptions {
  readonly policy: PolicyCheck
  readonly resolver: HostResolver
  /** The exit's outbound socket slots: each UDP socket takes one. */
  readonly sockets: Slots
  readonly maxDestinations: number
  readonly idleMs: number
  /** The data room of one backward relay payload. */
  readonly maxBodyBytes: number
  readonly counters: UdpCounters
  /** Queue one DATAGRAM body toward the client; false: no circuit credit (dropped). */
  send (body: Uint8Array): boolean
  /** The association ended by itself (idle, socket error): end its stream with `reason`. */
  ended (reason: EndReason): void
}

type Destination =
  | { readonly state: 'ready', readonly address: IpAddress }
  | { readonly state: 'refused' }
  | { readonly state: 'resolving', readonly waiting: Uint8Array[] }

export class UdpAssociation {
  private readonly options: UdpAssociationOptions
  /** By the destination as the client named it (`host|port`). */
  private readonly destinations = new Map<string, Destination>()
  /** `ip|port` sent to → the host as the client named it. */
  private readonly peers = new Map<string, string>()
  private readonly sockets = new Map<4 | 6, dgram.Socket>()
  private idleTimer: NodeJS.Timeout
  private closed = false

  constructor (options: UdpAssociationOptions) {
    this.options = options
    this.idleTimer = this.startIdleTimer()
  }

  /** A DATAGRAM from the client (decoded): sent on if its destination is allowed. */
  datagram (message: DecodedDatagram): void {
    if (this.closed) return
    this.touch()
    const key = `${message.host}|${message.port}`
    let destination = this.destinations.get(key)
    if (destination === undefined) {
      if (this.destinations.size >= this.options.maxDestinations) { this.drop(); return }
      destination = this.lookUp(key, message.host, message.port)
    }
    if (destination.state === 'ready') this.sendTo(destination.address, message.port, message.host, message.payload)
    else if (destination.state === 'resolving' && destination.waiting.length < MAX_WAITING) destination.waiting.push(Uint8Array.from(message.payload))
    else this.drop()
  }

  close (): void {
    if (this.closed) return
    this.closed = true
    clearTimeout(this.idleTimer)
    for (const socket of this.sockets.values()) {
      socket.close()
      this.options.sockets.release()
    }
    this.sockets.clear()
  }

  /** Check an IP literal now; resolve a name once (its datagrams wait meanwhile). */
  private lookUp (key: string, host: string, port: number): Destination {
    const literal = parseIpAddress(host)
    if (literal !== undefined) {
      const checked: Destination = this.options.policy.allows(literal.text, port) ? { state: 'ready', address: literal } : { state: 'refused' }
      this.destinations.set(key, checked)
      return checked
    }
    const pending: Destination = { state: 'resolving', waiting: [] }
    this.destinations.set(key, pending)
    this.options.resolver.resolve(host).then((resolved) => {
      if (!resolved.ok && resolved.reason === EndReason.RESOURCE_LIMIT) {
        // The exit's DNS cap, not an answer: a later datagram tries again.
        this.destinations.delete(key)
        this.options.counters.datagramsDropped += pending.waiting.length
        return
      }
      let chosen: IpAddress | undefined
      if (resolved.ok) {
        // IPv4 first, as outbound.ts connects.
        const allowed = resolved.addresses.map(parseIpAddress)
          .filter((a): a is IpAddress => a !== undefined && this.options.policy.allows(a.text, port))
          .sort((a, b) => a.family - b.family)
        chosen = allowed[0]
      }
      const done: Destination = chosen === undefined ? { state: 'refused' } : { state: 'ready', address: chosen }
      this.destinations.set(key, done)
      for (const payload of pending.waiting) {
        if (done.state === 'ready' && !this.closed) this.sendTo(done.address, port, host, payload)
        else this.drop()
      }
    }, () => {
      this.destinations.set(key, { state: 'refused' })
      this.options.counters.datagramsDropped += pending.waiting.length
    })
    return pending
  }

  private sendTo (address: IpAddress, port: number, named: string, payload: Uint8Array): void {
    const socket = this.socketFor(address.family)
    if (socket === undefined) { this.drop(); return }
    this.peers.set(`${address.text}|${port}`, named)
    // A failed send (unreachable, no route) loses this datagram only, as UDP would.
    socket.send(payload, port, address.text, (err) => {
      if (err === null) this.options.counters.datagramsToHosts++
      else this.drop()
    })
  }

  private socketFor (family: 4 | 6): dgram.Socket | undefined {
    const existing = this.sockets.get(family)
    if (existing !== undefined) return existing
    if (!this.options.sockets.tryTake()) return undefined
    const socket = dgram.createSocket({ type: family === 4 ? 'udp4' : 'udp6', lookup: literalsOnly })
    socket.on('message', (message, from) => this.fromHost(message, from))
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (this.closed) return
      this.close()
      this.options.ended(endReasonForErrno(err.code))
    })
    this.sockets.set(family, socket)
    return socket
  }

  /** A datagram from a host: passed on only from a host:port this association sent to. */
  private fromHost (message: Buffer, from: dgram.RemoteInfo): void {
    if (this.closed) return
    const source = parseIpAddress(from.address)
    const named = source === undefined ? undefined : this.peers.get(`${source.text}|${from.port}`)
    if (named === undefined) { this.drop(); return }
    const body = encodeDatagram({ host: named, port: from.port }, message)
    if (body.length > this.options.maxBodyBytes || !this.options.send(body)) { this.drop(); return }
    this.touch()
    this.options.counters.datagramsFromHosts++
  }

  private drop (): void {
    this.options.counters.datagramsDropped++
  }

  private touch (): void {
    this.idleTimer.refresh()
  }

  private startIdleTimer (): NodeJS.Timeout {
    const timer = setTimeout(() => {
      if (this.closed) return
      this.close()
      this.options.ended(EndReason.DONE)
    }, this.options.idleMs)
    timer.unref()
    return timer
  }
}

/**
 * dgram looks up every address it sends to or binds, IP literals included: pass literals
 * through as they are, and fail for a name (sends go to checked IP literals only).
 */
function literalsOnly (hostname: string, _options: unknown, callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void): void {
  const family = isIP(hostname)
  if (family !== 0) { callback(null, hostname, family); return }
  const error: NodeJS.ErrnoException = new Error('UDP sends take checked IP literals only')
  error.code = 'EINVAL'
  callback(error, '', 4)
}
