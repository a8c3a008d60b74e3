/**
 * Wiring between the link layer and a node: accept links from the predecessor (hand each to
 * the node, which returns its handlers), and dial the successor.
 */
import type { KeyPair } from '../crypto/index.js'
import type { HostPort } from '../base/address.js'
import { attachCellLink, type CellLink, type CellLinkHandlers } from './cell-link.js'
import { dialLink } from './dial.js'
import type { LinkRefusal } from './admission.js'
import type { LinkError } from './errors.js'
import type { LinkLimits } from './limits.js'
import { listenLinks, type LinkListener } from './listen.js'

export interface AcceptOptions {
  readonly listen: HostPort
  readonly cellSize: number
  readonly localStatic: KeyPair
  /** The predecessor's static key (KK), or undefined to accept any client (NK, the entry). */
  readonly predecessorKey: Uint8Array | undefined
  readonly prologue: Uint8Array
  readonly handshakeTimeoutMs?: number
  /** Rekey each link's sending direction at least this often (the cascade's epoch length). */
  readonly rekeyMs?: number
  /** Handshakes, links and handshake rate at this edge (defaults: DEFAULT_LINK_LIMITS). */
  readonly limits?: Partial<LinkLimits>
  /** The node takes a link and returns the callbacks for its cells and its end. */
  readonly attach: (link: CellLink) => CellLinkHandlers
  readonly onReject?: (err: LinkError) => void
  /** A connection past a limit was reset (per connection: log at debug only). */
  readonly onRefuse?: (code: LinkRefusal) => void
}

/** Listen for the predecessor's links (or clients' at the entry). */
export async function acceptPredecessors (options: AcceptOptions): Promise<LinkListener> {
  return listenLinks({
    host: options.listen.host,
    port: options.listen.port,
    cellSize: options.cellSize,
    pattern: options.predecessorKey === undefined ? 'NK' : 'KK',
    localStatic: options.localStatic,
    ...(options.predecessorKey === undefined ? {} : { allowedInitiator: options.predecessorKey }),
    prologue: options.prologue,
    ...(options.handshakeTimeoutMs === undefined ? {} : { handshakeTimeoutMs: options.handshakeTimeoutMs }),
    ...(options.rekeyMs === undefined ? {} : { rekeyMs: options.rekeyMs }),
    ...(options.limits === undefined ? {} : { limits: options.limits }),
    onLink: (link) => {
      // Cells flow from the next tick on, after the node's handlers are in place.
      let handlers: CellLinkHandlers | undefined
      const cellLink = attachCellLink(link, {
        onCell: (cell) => handlers?.onCell(cell),
        onClose: (reason) => handlers?.onClose(reason),
        onDrain: () => handlers?.onDrain?.(),
        onRoundEnd: (round, span) => handlers?.onRoundEnd?.(round, span),
      })
      handlers = options.attach(cellLink)
    },
    ...(options.onReject === undefined ? {} : { onReject: options.onReject }),
    ...(options.onRefuse === undefined ? {} : { onRefuse: options.onRefuse }),
  })
}

export interface DialSuccessorOptions {
  readonly address: HostPort
  readonly cellSize: number
  /** Our static key pair (KK between nodes), or undefined for a client (NK). */
  readonly localStatic: KeyPair | undefined
  readonly remoteStatic: Uint8Array
  readonly prologue: Uint8Array
  readonly handshakeTimeoutMs?: number
  /** Rekey the link's sending direction at least this often (the cascade's epoch length). */
  readonly rekeyMs?: number
}

/** Dial the next hop (a node's successor, or the entry for a client). */
export async function dialNext (options: DialSuccessorOptions, handlers: CellLinkHandlers): Promise<CellLink> {
  const link = await dialLink({
    host: options.address.host,
    port: options.address.port,
    cellSize: options.cellSize,
    pattern: options.localStatic === undefined ? 'NK' : 'KK',
    ...(options.localStatic === undefined ? {} : { localStatic: options.localStatic }),
    remoteStatic: options.remoteStatic,
    prologue: options.prologue,
    ...(options.handshakeTimeoutMs === undefined ? {} : { handshakeTimeoutMs: options.handshakeTimeoutMs }),
    ...(options.rekeyMs === undefined ? {} : { rekeyMs: options.rekeyMs }),
  })
  return attachCellLink(link, handlers)
}
