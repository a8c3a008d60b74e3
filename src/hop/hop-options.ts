/**
 * What a hop is built from: its options (the CREATE budgets, bounds and shaping) and their
 * defaults. Shared by the mix and the exit; the reasons behind the defaults are in docs/HOP.md.
 */
import { ENTRY_LINK_CREATE_BURST, ENTRY_LINK_CREATE_RATE_PER_S } from '../protocol/entry-create-budget.js'
import type { Geometry } from '../protocol/geometry.js'
import type { ShapingParams } from '../protocol/shaping.js'
import type { Logger } from '../base/logger.js'
import type { OnionKeySource } from './onion-keys.js'

/** Faults a test injects into a hop; never set by configs or the CLI. */
export interface HopTestFaults {
  /** Drop a cell from the predecessor before anything else looks at it (true: drop). */
  readonly dropForward?: (cell: Uint8Array) => boolean
}

/** Default bound of a circuit's queue at a hop, per direction: a circuit window and slack for control cells. */
export const DEFAULT_MAX_QUEUED_CELLS = 2048
/**
 * Shaped queues (a circuit's cells waiting for its slots at a hop, per direction) hold at
 * least this many times `maxQueuedCells` (8192 cells, 16 MiB, with the defaults), and more at
 * a high rung: QUEUE_BOUND_ROUNDS rounds of the circuit's highest rate near now (this slot's,
 * the slot before's, the one requested next: a neighbour may place a rung a slot apart).
 * With 2048 (16 rounds at the top rung), every hop of an overloaded cascade behind its
 * schedule (stalls, links backed up, which neither drain nor catch up) grew queues of honest
 * downloads past the bound at the hops before the slowest one, even after the client had
 * lowered their rungs (2100–3600 cells seen): they were silenced, their LOOPs lost, and the
 * client failed closed (eight downloads through `up` on two busy cores). The client's
 * congestion control (PROTOCOL.md §12.3) then stops the growth and drains take it back. An
 * honest neighbour never sends beyond its schedule and drains; a hostile one can fill a
 * circuit's queue to this bound, four times the unshaped bound, and no further.
 */
export const SHAPED_QUEUE_FACTOR = 4
/** Rounds of a shaped circuit's highest rate near now that its queue may hold (see SHAPED_QUEUE_FACTOR). */
export const QUEUE_BOUND_ROUNDS = 200
/**
 * Default CREATEs opened per round (R17). Opening one costs about 0.13 ms (X25519 in WASM
 * libsodium; twice that for a CREATE tried with two keys), so this keeps a round's CREATE
 * work under half of a 10 ms round.
 */
export const DEFAULT_MAX_CREATES_PER_ROUND = 32
/**
 * Rounds a circuit ID stays unusable on its link after its circuit ended here (R5): cells of
 * the old circuit still in flight must not be read as the new one's.
 */
export const QUARANTINE_ROUNDS = 100

/** The CREATE budgets of a hop (docs/PROTOCOL.md §10); each field left out takes its default. */
export type CreateBudget = Pick<HopOptions, 'createRatePerS' | 'createBurst' | 'linkCreateRatePerS' | 'linkCreateBurst'>

export interface HopOptions {
  readonly geometry: Geometry
  /** 1 = entry mix … hops = exit. */
  readonly position: number
  readonly cascadeId: Uint8Array
  /** The onion keys of this hop over time; the caller closes it after stopping the node. */
  readonly onionKeys: OnionKeySource
  readonly roundMs: number
  readonly logger: Logger
  /** Tags one key's replay table holds before it refuses new CREATEs (never evicts). */
  readonly replayCapacity?: number
  readonly maxCircuits?: number
  readonly maxCircuitsPerLink?: number
  readonly circuitIdleMs?: number
  /** Cells one link may deliver in one round before its input is paused until the next. */
  readonly maxCellsPerLinkPerRound?: number
  /**
   * A predecessor (or a mix's successor) that reads so slowly that this many bytes wait for it
   * is closed (its circuits end alike): one slow reader must not make the node buffer without
   * bound.
   */
  readonly maxLinkBacklogBytes?: number
  /** The cascade's traffic shaping (docs/PROTOCOL.md §12); default: profile off. */
  readonly shaping?: ShapingParams
  /**
   * A circuit whose queue in one direction holds more cells than this is ended (flow control
   * keeps an honest circuit far below): a shaped circuit's queues, and in any cascade those of
   * a circuit awaiting its tag or behind a carried CREATE. Default DEFAULT_MAX_QUEUED_CELLS.
   */
  readonly maxQueuedCells?: number
  /** CREATEs opened per round at most (R17); later ones wait for the next rounds. Default DEFAULT_MAX_CREATES_PER_ROUND. */
  readonly maxCreatesPerRound?: number
  /**
   * CREATEs that may wait for a later round; past it a CREATE is refused (no state, counted).
   * Default 16 rounds' worth: a CREATE waits at most that long, and the cells behind the
   * waiting CREATEs stay bounded.
   */
  readonly maxCarriedCreates?: number
  /**
   * CREATEs this hop accepts per second in all (a token bucket, taken once a CREATE has
   * authenticated), and the burst. Default: what the replay table holds over one key's life,
   * `(replayCapacity − burst) / (epochS + 2·graceS)`, so that the table can never fill
   * (R6); a rate set higher is logged as a warning at start.
   */
  readonly createRatePerS?: number
  /** Default min(1024, replayCapacity / 4). */
  readonly createBurst?: number
  /**
   * CREATEs one predecessor link may send per second, and the burst (checked as they arrive,
   * before any X25519 work). Default at the entry 1/s with a burst of 32 (a client needs a few
   * circuits at start and then one now and then); elsewhere unlimited: the one predecessor
   * carries every client's.
   */
  readonly linkCreateRatePerS?: number
  readonly linkCreateBurst?: number
  /** Entry only: a client link that has had no circuit for this long is closed. Default 300 000. */
  readonly linkIdleMs?: number
  /** Test-only faults (off by default; absent from configs and the CLI). */
  readonly testFaults?: HopTestFaults
}

/** The entry's default per-link CREATE budget (see HopOptions): the protocol's, which unshaped clients keep too. */
export const DEFAULT_LINK_CREATE_RATE_PER_S = ENTRY_LINK_CREATE_RATE_PER_S
export const DEFAULT_LINK_CREATE_BURST = ENTRY_LINK_CREATE_BURST
