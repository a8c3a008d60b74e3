/**
 * The counters every hop keeps (mix and exit alike): aggregates only, nothing per circuit
 * (R19). hop-metrics.ts reads them by these names (`HopCounters`).
 */
import { CREATE_SLOT_BUCKETS } from './create-hold.js'

/** Aggregate counters only: nothing per circuit (R19). */
export class HopStats {
  cellsIn = 0
  cellsOut = 0
  rounds = 0
  lastForwardBatch = 0
  lastBackwardBatch = 0
  createsAccepted = 0
  createsRefusedAuth = 0
  createsRefusedReplay = 0
  createsRefusedFull = 0
  createsRefusedLimit = 0
  relayAuthFailures = 0
  unknownCircuitCells = 0
  /** Cells from the successor for a circuit this mix ended lately (its copy there ends a little later by design, R5): dropped. */
  cellsAfterEnd = 0
  malformedCells = 0
  destroysIn = 0
  circuitsExpired = 0
  linksAccepted = 0
  linksClosed = 0
  linksClosedSlow = 0
  /** CREATEs refused because no onion key is accepted now (a discarded key's window). */
  createsRefusedNoKey = 0
  /** The epoch of the key that opened the last accepted CREATE (-1 before the first). */
  lastCreateEpoch = -1
  /** Tag log appends that failed (the key was discarded, the circuits they opened dropped). */
  tagLogFailures = 0
  /** CREATEs carried to a later round because the round's budget was spent (R17). */
  createsCarried = 0
  /** CREATEs refused because `maxCarriedCreates` were already waiting. */
  createsRefusedBusy = 0
  /**
   * Circuits ended because a queue outgrew its bound (`maxQueuedCells`): a shaped circuit's,
   * or any circuit's while it awaits its tag or its CREATE is carried (that CREATE is dropped).
   */
  circuitsOverQueue = 0
  // --- shaped cascades only (profile strict or elastic) ---
  /**
   * Slots by CREATEs accepted in them, bucketed: index b counts the slots with at least
   * CREATE_SLOT_BUCKETS[b] and fewer than CREATE_SLOT_BUCKETS[b + 1] CREATEs (0, 1, 2–3, 4–7,
   * 8–15, 16–31, 32–63, 64+). Finished slots only; no times, no circuits (R19, R21).
   */
  createsPerSlot: number[] = CREATE_SLOT_BUCKETS.map(() => 0)
  /** The bucket (its lower bound) of the last finished slot; −1 before the first. */
  createsLastSlot = -1
  /** kMin holds released because kMin CREATEs were waiting. */
  holdReleasesKmin = 0
  /** kMin holds released because createHoldRounds passed. */
  holdReleasesTimeout = 0
  /** PADs this hop made up to fill circuits' backward slots (cumulative). */
  padsOut = 0
  /** Link PADDING cells this mix sent to fill circuits' forward slots (cumulative). */
  paddingOut = 0
  /**
   * Shaped circuits a DESTROY, an input fault or an overfull queue ended early: they carry no
   * real cell from then on, and keep their schedule until its end (R5).
   */
  circuitsSilenced = 0
  /** Cells that arrived, from either side, for a circuit silenced here (dropped). */
  cellsDroppedSilenced = 0
  /** Cells dropped because their circuit's queue was at its bound (`maxQueuedCells`). */
  cellsDroppedOverQueue = 0
  /** CREATEs refused because their circuit ID was quarantined on its link. */
  createsRefusedQuarantine = 0
  /** Exceptions caught while handling a peer's input (bugs a peer could trigger; each logged). */
  inputExceptions = 0
  /** Rounds a mix drained toward its successor / its predecessors, every circuit of the link alike (link-drain.ts). */
  drainRoundsForward = 0
  /** Entry: rung steps cut from client links over the client rate (client-rate-cap.ts), per direction. */
  rungsCappedForward = 0
  rungsCappedBackward = 0
  drainRoundsBackward = 0
  /** Rounds released as soon as the neighbours' writes of them arrived, and at the deadline (arrival-gate.ts), per direction. */
  releasesOnArrivalForward = 0
  releasesOnArrivalBackward = 0
  releasesAtDeadlineForward = 0
  releasesAtDeadlineBackward = 0
  /** Earlier rounds' schedule carried on from neighbours' writes (their catch-ups and drains, rounds they sent late: arrival-gate.ts), per direction. */
  carriedRoundsForward = 0
  carriedRoundsBackward = 0
  /** Rounds whose writes came late but were over the hop's budget for carrying them again (arrival-gate.ts), per direction. */
  lateRoundsUncarriedForward = 0
  lateRoundsUncarriedBackward = 0
  /** CREATEs refused by the per-link or the global CREATE rate (R6). */
  createsRefusedRate = 0
  /** Entry: client links closed because they had no circuit for `linkIdleMs`. */
  linksClosedIdle = 0
  /** Predecessor links that ended with an error (garbage, failed authentication, timeouts); logged at debug only. */
  linksFailed = 0
}
