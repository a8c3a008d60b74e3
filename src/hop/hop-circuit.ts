/**
 * One circuit as a cascade hop (mix or exit) holds it: where it came from, its layer state,
 * and when it was last used. Its keys live in the layer objects and are wiped when it ends.
 */
import type { BackwardSealer, ForwardPeeler } from '../protocol/relay-layers.js'
import type { CellLink } from '../link/cell-link.js'
import type { CircuitShape } from './circuit-shape.js'

export class HopCircuit {
  /** Dense label for the round interleaver (a slot in the node's circuit table). */
  readonly slot: number
  /** The link from the predecessor, and the circuit ID the predecessor chose on it. */
  readonly inLink: CellLink
  readonly inId: number
  readonly peeler: ForwardPeeler
  readonly sealer: BackwardSealer
  /** At a mix, the random circuit ID on the successor link; 0 at the exit. */
  outId = 0
  lastActivity: number
  ended = false
  /** The epoch of the onion key that opened the CREATE. */
  epoch = -1
  /**
   * Forward items that may not be passed on yet, in order: at the exit the payloads (while
   * its replay tag is not durable or its CREATE is in the kMin hold), at an unshaped mix the
   * CREATE for the successor and the peeled cells (while its tag is not durable). Null
   * otherwise, and always at a shaped mix, whose forward queue holds them instead.
   */
  held: Uint8Array[] | null = null
  /** Unshaped: backward cells sealed while its tag was not durable (none is expected). */
  heldBackward: Uint8Array[] | null = null
  /**
   * Its replay tag is not yet in the key's tag log (durable keys). Until it is, nothing of
   * this circuit enters a round but PADs in its shaped backward slots (docs/HOP.md).
   */
  awaitingLog = false
  /** Shaped cascades only (null with profile off): queues, rate, kMin release. */
  shape: CircuitShape | null = null
  /**
   * Shaped: a DESTROY (from either side), an input fault or an overfull queue ended it early
   * here. It carries no real cell any more, but keeps its schedule (PADs, PADDING) until
   * `endRound`, so that neither neighbour's link shows the end before it was due (R5).
   */
  silenced = false
  /** Shaped: the round at which the circuit ends here (its scheduled end). */
  endRound = Infinity

  constructor (slot: number, inLink: CellLink, inId: number, peeler: ForwardPeeler, sealer: BackwardSealer, now: number) {
    this.slot = slot
    this.inLink = inLink
    this.inId = inId
    this.peeler = peeler
    this.sealer = sealer
    this.lastActivity = now
  }
}
