/**
 * Accepts links: a TCP server that runs the Noise handshake as responder on every connection
 * and hands each completed Link to `onLink`.
 *
 * NK (entry mix): any client may connect; the client proves nothing, the entry proves its
 * static key. KK (mix 2.., exit): only the predecessor whose static key is pinned in
 * `allowedInitiator` completes the handshake; anyone else fails message 1 and is refused with
 * LINK_PEER_NOT_ALLOWED. Every refused connection (garbage, silence past the deadline, wrong
 * key or prologue) is closed on its own, counted in `stats`, and reported to `onReject`;
 * the listener keeps serving. TCP_NODELAY is set on every accepted socket.
 *
 * Before any of that, a connection must fit the listener's `limits` (limits.ts): past one, it
 * is reset at once, before any crypto work, counted by reason and reported to `onRefuse`
 * with a code only (admission.ts).
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import type { KeyPair } from '../crypto/index.js'
import { HandshakeState, type HandshakePattern } from './noise/handshake.js'
import { DEFAULT_FRAME_TIMEOUT_MS, DEFAULT_HANDSHAKE_TIMEOUT_MS } from './constants.js'
import { LinkError, LinkErrorCode } from './errors.js'
import { Admission, type LinkRefusal, type RefusalCounts } from './admission.js'
import { linkLimits, type LinkLimits } from './limits.js'
import { runHandshake } from './handshake-io.js'
import { DEFAULT_REKEY_INTERVAL_MS, checkRekeyOptions } from './link-control.js'
import type { Link } from './link.js'
import { badOptions, checkCellSize, checkKeyPair, checkPattern, checkPrologue, checkPublicKey, checkTimeout } from './options.js'

/** How often sources whose buckets have refilled are forgotten. */
const SOURCE_SWEEP_MS = 1000

const ignore = (): void => {}

export interface ListenOptions {
  readonly host: string
  readonly port: number
  readonly cellSize: number
  readonly pattern: HandshakePattern
  readonly localStatic: KeyPair
  /** KK: the predecessor's static public key (required). NK: must be absent (any client). */
  readonly allowedInitiator?: Uint8Array
  /** `"mixgate/v1" ‖ cascadeId(32) ‖ position(1)`; must equal the initiator's. */
  readonly prologue: Uint8Array
  readonly handshakeTimeoutMs?: number
  readonly frameTimeoutMs?: number
  /** Rekey our sending direction of each link at least this often (nodes pass the epoch length; default 1 h). */
  readonly rekeyMs?: number
  /** Bounds at the edge; each field left out takes its DEFAULT_LINK_LIMITS value. */
  readonly limits?: Partial<LinkLimits>
  readonly onLink: (link: Link) => void
  readonly onReject?: (err: LinkError) => void
  /** A connection past a limit was reset before its handshake (called per connection: log at debug only). */
  readonly onRefuse?: (code: LinkRefusal) => void
}

export interface ListenerStats extends RefusalCounts {
  /** TCP connections accepted, refused ones included. */
  readonly connections: number
  /** Handshakes completed (links handed to onLink). */
  readonly links: number
  readonly handshakeTimeouts: number
  readonly handshakeFailures: number
  readonly peersNotAllowed: number
}

export class LinkListener {
  private readonly server: Server
  private readonly options: ListenOptions
  private readonly handshakeTimeoutMs: number
  private readonly frameTimeoutMs: number
  private readonly handshaking = new Set<Socket>()
  private readonly links = new Set<Link>()
  private readonly admission: Admission
  private readonly sweeper: NodeJS.Timeout
  private closing = false
  /** Rekeys of the links that closed (the open ones are read from the links). */
  private closedLinkRekeys = 0
  private counts = { connections: 0, links: 0, handshakeTimeouts: 0, handshakeFailures: 0, peersNotAllowed: 0 }

  /** Use listenLinks(); the server is not listening yet here. */
  constructor (server: Server, options: ListenOptions) {
    this.server = server
    this.options = options
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS
    this.frameTimeoutMs = options.frameTimeoutMs ?? DEFAULT_FRAME_TIMEOUT_MS
    this.admission = new Admission(linkLimits(options.limits), () => performance.now())
    this.sweeper = setInterval(() => this.admission.sweep(), SOURCE_SWEEP_MS).unref()
    server.on('connection', this.accept)
  }

  address (): AddressInfo {
    return this.server.address() as AddressInfo
  }

  /** Rekeys (both directions, PROTOCOL.md §8.4) of every link handed out, closed ones included. */
  get linkRekeys (): number {
    let total = this.closedLinkRekeys
    for (const link of this.links) total += link.rekeys
    return total
  }

  get stats (): ListenerStats {
    return { ...this.counts, ...this.admission.refusals }
  }

  /** Handshakes in progress now. */
  get handshakesInProgress (): number {
    return this.admission.handshakesInProgress
  }

  /** Sources (IPv4 addresses, IPv6 /64s) holding a handshake, a link or a refilling bucket now. */
  get trackedSources (): number {
    return this.admission.trackedSources
  }

  /** Links handed out and still open. */
  get openLinks (): number {
    return this.links.size
  }

  /** Stop accepting, abort handshakes in progress, close every open link. */
  close (): Promise<void> {
    this.closing = true
    clearInterval(this.sweeper)
    for (const socket of this.handshaking) socket.destroy()
    this.handshaking.clear()
    for (const link of this.links) link.close()
    this.links.clear()
    return new Promise((resolve) => {
      if (!this.server.listening) {
        resolve()
        return
      }
      this.server.close(() => resolve())
    })
  }

  private readonly accept = (socket: Socket): void => {
    if (this.closing || socket.remoteAddress === undefined) {
      socket.destroy()
      return
    }
    this.counts.connections++
    const source = this.admission.admit(socket.remoteAddress)
    if (typeof source === 'string') {
      // A reset leaves no TIME_WAIT behind on our side, however many are refused.
      socket.on('error', ignore)
      socket.resetAndDestroy()
      this.options.onRefuse?.(source)
      return
    }
    socket.setNoDelay(true)
    this.handshaking.add(socket)
    const { pattern, prologue, localStatic, allowedInitiator } = this.options
    const handshake = new HandshakeState({
      pattern,
      initiator: false,
      prologue,
      s: localStatic,
      ...(pattern === 'KK' ? { rs: allowedInitiator! } : {}),
    })
    const handshakeOptions = {
      pattern,
      initiator: false,
      timeoutMs: this.handshakeTimeoutMs,
      cellSize: this.options.cellSize,
      frameTimeoutMs: this.frameTimeoutMs,
      rekeyMs: this.options.rekeyMs ?? DEFAULT_REKEY_INTERVAL_MS,
    }
    runHandshake(socket, handshake, handshakeOptions).then(
      (link) => {
        this.handshaking.delete(socket)
        if (this.closing) {
          this.admission.handshakeEnded(source, false)
          link.close()
          return
        }
        this.admission.handshakeEnded(source, true)
        this.links.add(link)
        link.once('close', () => {
          this.closedLinkRekeys += link.rekeys
          this.links.delete(link)
          this.admission.linkClosed(source)
        })
        this.counts.links++
        this.options.onLink(link)
      },
      (err: LinkError) => {
        this.handshaking.delete(socket)
        this.admission.handshakeEnded(source, false)
        if (this.closing) return
        if (err.code === LinkErrorCode.HANDSHAKE_TIMEOUT) this.counts.handshakeTimeouts++
        else if (err.code === LinkErrorCode.PEER_NOT_ALLOWED) this.counts.peersNotAllowed++
        else this.counts.handshakeFailures++
        this.options.onReject?.(err)
      },
    )
  }
}

export async function listenLinks (options: ListenOptions): Promise<LinkListener> {
  checkPattern(options.pattern)
  checkCellSize(options.cellSize)
  checkKeyPair(options.localStatic, 'localStatic')
  checkPrologue(options.prologue)
  checkTimeout(options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS, 'handshakeTimeoutMs')
  checkTimeout(options.frameTimeoutMs ?? DEFAULT_FRAME_TIMEOUT_MS, 'frameTimeoutMs')
  checkRekeyOptions(options.cellSize, options.rekeyMs ?? DEFAULT_REKEY_INTERVAL_MS)
  linkLimits(options.limits) // throws LINK_BAD_OPTIONS naming the field
  if (options.pattern === 'KK') checkPublicKey(options.allowedInitiator, 'allowedInitiator')
  if (options.pattern === 'NK' && options.allowedInitiator !== undefined) {
    throw badOptions('NK initiators are anonymous: allowedInitiator cannot be enforced')
  }
  if (typeof options.onLink !== 'function') throw badOptions('onLink is required')

  const server = createServer()
  const listener = new LinkListener(server, options)
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error & { code?: string }): void => {
      void listener.close()
      reject(new LinkError(LinkErrorCode.LISTEN_FAILED, 'could not listen for links', { detail: err.code ?? err.message }))
    }
    server.once('error', onError)
    server.listen(options.port, options.host, () => {
      server.off('error', onError)
      resolve()
    })
  })
  // Errors after start-up (e.g. EMFILE on accept) must not crash the process; the server keeps going.
  server.on('error', () => {})
  return listener
}
