/**
 * The shape of a link as the roles use it: send a round's cells in one write, receive cells,
 * throttle input, close. `attachCellLink` adapts a Noise `Link` to it; the mixing and client
 * code depend only on this interface (and tests can drive them without sockets).
 */
import type { Link } from './link.js'
import type { LinkError } from './errors.js'

export interface CellLink {
  /**
   * Seal and write these cells in one write, marked as the write of `round` (default 0:
   * unshaped writes belong to no schedule round); false when the socket is backpressured.
   */
  send (cells: Uint8Array[], round?: number, span?: number): boolean
  /** Stop reading from the peer until `resumeInput` (bounds what one round can take in). */
  pauseInput (): void
  resumeInput (): void
  /** Close the link (idempotent). */
  close (): void
  /** Whether the link is still open. */
  readonly isOpen: boolean
  /** Bytes written but not yet taken by the kernel (grows when the peer reads slowly). */
  readonly backlogBytes: number
  /** The round (modulo 2^32) the peer's write of the cell being delivered carried. */
  readonly roundIn: number
}

/** The callbacks a node attaches to a link it owns. */
export interface CellLinkHandlers {
  onCell (cell: Uint8Array): void
  /** `reason` is a stable code (`LINK_…`), or `closed` for an orderly close. */
  onClose (reason: string): void
  onDrain? (): void
  /** The peer's write of `round` (modulo 2^32), carrying `span` rounds before it too, has all arrived (after its last cell). */
  onRoundEnd? (round: number, span: number): void
}

/** Wire a Noise link to a node's handlers; cells start flowing once this returns. */
export function attachCellLink (link: Link, handlers: CellLinkHandlers): CellLink {
  const cellLink: CellLink = {
    send: (cells, round, span) => link.send(cells, round, span),
    pauseInput: () => link.pause(),
    resumeInput: () => link.resume(),
    close: () => link.close(),
    get isOpen () { return !link.closed },
    get backlogBytes () { return link.writeBacklog },
    get roundIn () { return link.roundIn },
  }
  link.on('close', (reason: LinkError | undefined) => handlers.onClose(reason?.code ?? 'closed'))
  if (handlers.onDrain !== undefined) link.on('drain', handlers.onDrain)
  if (handlers.onRoundEnd !== undefined) link.on('roundEnd', handlers.onRoundEnd)
  link.on('cell', (cell) => handlers.onCell(cell))
  return cellLink
}
