/**
 * What every cascade hop does with its predecessor: the common core of the mix and the exit.
 *
 * A hop accepts links from its predecessor (the entry: from clients), opens CREATE headers
 * with its onion keys, refuses replays, keeps one `HopCircuit` per accepted CREATE, peels
 * forward RELAY cells, and releases its backward cells in rounds: every `roundMs`, on absolute
 * deadlines, all backward cells sealed since the last round leave in a uniform random
 * interleaving that keeps each circuit's order, one write per link (R9, R17).
 *
 * Onion keys rotate per epoch (docs/KEYS.md §2). A CREATE carries no epoch in clear: it is
 * trial-opened with each key the `OnionKeySource` accepts now (at most two, R18; the epoch is
 * bound in the layer's AD, so only the right key authenticates). Each key has its own replay
 * table, filled from the tags restored for it and dropped, zeroed, when the key retires.
 * With durable keys, the tags accepted since the last round are appended to the key's tag log
 * once per round (R2), and only the circuits those tags opened wait for the append: a round
 * always leaves on its deadline, whatever it contained (R17), so one client's CREATE delays
 * no one else's cells. A circuit whose tag is not yet durable (`awaitingLog`) puts nothing in
 * any round — no CREATE toward the successor, no forward or backward RELAY cell — and its
 * cells wait, in order and bounded, in its own queues; from the first round that starts
 * after the append resolved it is a circuit like any other. At the exit, whose forward output
 * is TCP, its payloads wait for the tag too. If the append fails, the key is discarded and
 * those circuits end: nothing of theirs has left (shaped cascades: but PADs, see below).
 *
 * At most `maxCreatesPerRound` CREATEs are opened per round (X25519 work, R17); later ones
 * are carried to the next rounds in arrival order with the cells that follow them on their
 * circuit ID, and past `maxCarriedCreates` waiting a CREATE is refused like one over a full
 * replay table (counted). So a CREATE flood cannot stretch a round's work.
 *
 * Failure semantics (DESIGN goal 3, R3, R5): a cell that fails authentication is dropped
 * silently and counted; a refused CREATE creates no state, and later cells on its ID are
 * dropped as unknown; a DESTROY ends the circuit here and is never relayed; a predecessor link
 * that fails ends every circuit on it alike, and nothing is sent downstream because of it
 * (telling the successor which circuits shared a link would link them). Circuits the
 * predecessor abandoned expire after `circuitIdleMs` without cells.
 *
 * The exit uses this too: it is the last hop, whose forward output goes to TCP instead of to
 * a successor. Subclasses say what a peeled forward cell becomes (`onForward`).
 *
 * Shaped cascades (profile strict or elastic, docs/PROTOCOL.md §12): rounds are aligned to
 * wall-clock multiples of roundMs and numbered from the Unix epoch. Every circuit carries
 * exactly its scheduled number of cells per round in each direction: backward, its queued
 * cells and then PADs of this hop's own; forward (at a mix), its queued cells and then link
 * PADDING, so each link's frames per round are fixed by the circuits on it and the profile,
 * whatever the users do. Cells wait in bounded per-circuit queues (a circuit over the bound is
 * ended), are sealed when they leave, and CREATEs wait in the kMin hold. With profile off
 * none of this runs: rounds carry whatever arrived, as before.
 *
 * A shaped circuit whose tag is not yet durable is treated like one in the kMin hold (and it
 * enters that hold only once durable, so a kMin group always leaves together):
 *   - forward it contributes nothing, not even PADDING: its CREATE has not left, and the
 *     successor link carries the circuits whose CREATEs did. The CREATE's departure shows the
 *     fsync whatever fills the slots before it (it is one frame more), and every CREATE of one
 *     append leaves in the same round; PADDING would only put frames on the successor link
 *     for a circuit that a failed append then ends.
 *   - backward its slots carry PADs of this hop's own from the round after acceptance, as for
 *     every circuit, so the predecessor link's frames per round never show the fsync (the
 *     predecessor knows the circuit exists: it sent the CREATE). Queued cells wait (there are
 *     none: no CREATE went on, no payload was delivered).
 * Those PADs are the one thing that leaves before the tag is durable, and they are safe: a PAD
 * carries no data, and every backward layer draws a fresh random nonce per cell, so even a
 * replay of the CREATE could not reuse their keystream (R2's defence in depth). A failed
 * append still ends the circuit, whose CREATE never left.
 */
import { randomFill } from '../crypto/index.js'
import { CELL_HEADER_BYTES, type Geometry } from '../protocol/geometry.js'
import { CellCommand, cellCircuitId, cellCommand, writeCellHeader } from '../protocol/cell.js'
import { ProtocolError } from '../protocol/errors.js'
import { openOnion, type OnionContext } from '../protocol/onion.js'
import { BackwardSealer, ForwardPeeler } from '../protocol/relay-layers.js'
import type { Logger } from '../node/logger.js'
import type { ActiveOnionKey, OnionKeySource } from '../node/keys/onion-key-source.js'
import type { CellLink, CellLinkHandlers } from '../link/cell-link.js'
import { HopCircuit } from './hop-circuit.js'
import { Interleaver } from './interleave.js'
import { RoundStrategy, type MixStrategy } from './strategy.js'
import { UniformPool } from './uniform-pool.js'
import { REPLAY_TAG_BYTES, ReplayTable } from './replay-table.js'
import { RoundClock } from './round-clock.js'
import type { RoundObserver } from '../node/metrics/sources.js'
import { decodeRungRequest, MILLI, roundAt, rungRequestParity, type ShapingParams } from '../protocol/shaping.js'
import { InputFaults } from '../node/input-faults.js'
import { LogAggregator } from '../node/log-aggregate.js'
import { epochEndS } from '../node/keys/epoch.js'
import { CircuitShape } from './circuit-shape.js'
import { CreateHold, CREATE_SLOT_BUCKETS, SlotCreateCounter } from './create-hold.js'
import { CreateQueue } from './create-queue.js'
import { TokenBucket } from '../link/token-bucket.js'
import { requestRound } from './rung-schedule.js'
import { scheduledEndRound, lifetimeEndRound } from './circuit-end.js'

/** Faults a test injects into a hop; never set by configs or the CLI. */
export interface HopTestFaults {
  /** Drop a cell from the predecessor before anything else looks at it (true: drop). */
  readonly dropForward?: (cell: Uint8Array) => boolean
}

/** Default bound of a circuit's queue at a hop, per direction: a circuit window and slack for control cells. */
export const DEFAULT_MAX_QUEUED_CELLS = 2048
/**
 * Default CREATEs opened per round (R17). Opening one costs about 0.13 ms (X25519 in WASM
 * libsodium; twice that for a CREATE tried with two keys), so this keeps a round's CREATE
 * work under half of a 10 ms round.
 */
export const DEFAULT_MAX_CREATES_PER_ROUND = 32
/** The most missed rounds one shaped round catches up (half a second of 10 ms rounds). */
const MAX_CATCH_UP_ROUNDS = 50

/**
 * A mix drains a backlog only link by link: when any circuit toward a neighbour holds more
 * than two rounds' worth plus a cell (stalls, a rung placed differently), that round carries
 * the schedule of D more rounds for EVERY circuit on the link, filled with queued cells and
 * padding, D a power of two up to this (docs/PROTOCOL.md §12.2). A burst a neighbour put on
 * one circuit thus never shows as that circuit's: the far link sees every circuit catch up
 * alike (R1), as after a stall of this hop.
 */
export const MAX_DRAIN_ROUNDS = 32

/** Rounds of its schedule a circuit's queue holds beyond the jitter allowance (0: within). */
export function excessRounds (queued: number, rateMilli: number): number {
  const allowance = Math.ceil(2 * rateMilli / MILLI) + 1
  if (queued <= allowance) return 0
  return Math.ceil((queued - allowance) * MILLI / rateMilli)
}

/** The drain a link needs for `excess` rounds: 0, or a power of two of rounds up to MAX_DRAIN_ROUNDS. */
export function drainRounds (excess: number): number {
  if (excess <= 0) return 0
  let rounds = 1
  while (rounds < excess && rounds < MAX_DRAIN_ROUNDS) rounds *= 2
  return rounds
}

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

/** The entry's default per-link CREATE budget (see HopOptions). */
export const DEFAULT_LINK_CREATE_RATE_PER_S = 1
export const DEFAULT_LINK_CREATE_BURST = 32

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
  /** Rounds a mix drained toward its successor / its predecessors, every circuit of the link alike (MAX_DRAIN_ROUNDS). */
  drainRoundsForward = 0
  drainRoundsBackward = 0
  /** CREATEs refused by the per-link or the global CREATE rate (R6). */
  createsRefusedRate = 0
  /** Entry: client links closed because they had no circuit for `linkIdleMs`. */
  linksClosedIdle = 0
  /** Predecessor links that ended with an error (garbage, failed authentication, timeouts); logged at debug only. */
  linksFailed = 0
}

/** A cell waiting for its round, with the circuit it belongs to. */
export interface QueuedCell {
  readonly cell: Uint8Array
  readonly circuit: HopCircuit
}

/** One onion key as the hop uses it: its replay table, and the tags not yet logged. */
interface KeySlot {
  readonly key: ActiveOnionKey
  readonly context: OnionContext
  readonly table: ReplayTable
  /** Tags this key accepted since the last round (durable keys only: appended at the round). */
  fresh: Uint8Array[]
  /** The circuits those tags opened (`awaitingLog` until the append resolves). */
  freshCircuits: HopCircuit[]
  /** Set when its tag log failed: no new CREATE is opened with it. */
  dead: boolean
}

/** A CREATE waiting for a later round's budget, and the cells that came after it on its ID. */
interface CarriedCreate {
  readonly state: LinkState
  readonly inId: number
  readonly body: Uint8Array
  readonly after: Uint8Array[]
}

interface LinkState {
  readonly link: CellLink
  readonly circuits: Map<number, HopCircuit>
  /** CREATEs from this link carried to a later round, by circuit ID. */
  readonly carried: Map<number, CarriedCreate>
  cellsThisRound: number
  paused: boolean
  /** Shaped: this round's backward cells for the link (reused every round). */
  readonly batch: Uint8Array[]
  /** Circuit IDs of circuits that ended here recently, and the round until which they stay unusable. */
  readonly quarantine: Map<number, number>
  /** The link's CREATE budget (null: unlimited). */
  readonly createBucket: TokenBucket | null
  /** When the link last had a circuit or a carried CREATE (entry: idle links are closed). */
  lastBusy: number
}

export abstract class HopNode {
  readonly stats = new HopStats()
  protected readonly geometry: Geometry
  protected readonly position: number
  protected readonly logger: Logger
  private readonly cascadeId: Uint8Array
  private readonly keySource: OnionKeySource
  private readonly replayCapacity: number
  private readonly slots = new Map<number, KeySlot>()
  /** Keys up to this epoch were dropped: never used again (their tags are gone). */
  private retiredThrough = -1
  private readonly unsubscribeKeys: () => void
  private roundsStopped = false
  private readonly createQueue: CreateQueue<CarriedCreate>
  /** Every CREATE that authenticated takes a token (R6: the replay table cannot fill). */
  private readonly createBucket: TokenBucket
  private readonly linkCreateRatePerS: number | undefined
  private readonly linkCreateBurst: number
  private readonly linkIdleMs: number
  /** Reused every round: the carried CREATEs it opens. */
  private readonly createsDue: CarriedCreate[] = []
  private readonly maxCircuits: number
  private readonly maxCircuitsPerLink: number
  private readonly circuitIdleMs: number
  private readonly maxCellsPerLinkPerRound: number
  protected readonly maxLinkBacklogBytes: number
  /** Set while the successor is backpressured: predecessors are not read until it drains. */
  private forwardBlocked = false
  private readonly links = new Map<CellLink, LinkState>()
  private circuitCount = 0
  /** Free dense labels for the interleaver. */
  private readonly freeSlots: number[] = []
  private nextSlot = 0
  /** The round shuffle draws from bulk CSPRNG output (per-draw libsodium calls cost ~7 µs). */
  protected readonly interleaver = new Interleaver({ uniform: new UniformPool(randomFill).uniform })
  private readonly clock: RoundClock
  private sweepTimer: NodeJS.Timeout | undefined
  /** Backward cells sealed since the last round, released by the strategy. */
  private readonly backward: MixStrategy<QueuedCell>
  private readonly backwardOut: QueuedCell[] = []
  private readonly forwardOut: QueuedCell[] = []
  /** The cascade's shaping, or null for profile off. */
  protected readonly shaping: ShapingParams | null
  private readonly roundMs: number
  private readonly roundsPerSlot: number
  private readonly maxQueuedCells: number
  private readonly dropForward: ((cell: Uint8Array) => boolean) | undefined
  private readonly createHold: CreateHold<HopCircuit> | null
  private readonly slotCreates: SlotCreateCounter | null
  private lastRoundRun = -1
  private readonly released: HopCircuit[] = []
  // Reused every shaped round: one round's cells and their circuit labels, and the shuffle.
  protected readonly roundCells: Uint8Array[] = []
  protected readonly roundLabels: number[] = []
  private readonly roundIndex: number[] = []
  private readonly roundOrder: number[] = []
  private readonly labelOf = (k: number): number => this.roundLabels[k]!
  /** Cells for PADs and the exit's payloads, reused every round (links copy what they send). */
  private readonly scratch: Uint8Array[] = []
  private scratchUsed = 0
  /** Exceptions from handling peers' input, caught and counted (input-faults.ts). */
  protected readonly faults: InputFaults
  /** Link failures as a count per reason and minute (R19: no line per link). */
  private readonly linkLog: LogAggregator
  /** Shaped: the earliest `endRound` of any circuit (no circuit ends before it). */
  private nextEndRound = Infinity
  /** Reused: circuits whose scheduled end came. */
  private readonly dueToEnd: HopCircuit[] = []

  constructor (options: HopOptions) {
    this.geometry = options.geometry
    this.position = options.position
    this.logger = options.logger
    this.cascadeId = options.cascadeId
    this.keySource = options.onionKeys
    this.replayCapacity = Math.min(options.replayCapacity ?? (1 << 18), options.onionKeys.capacity ?? Infinity)
    this.maxCircuits = options.maxCircuits ?? 65536
    this.maxCircuitsPerLink = options.maxCircuitsPerLink ?? 4096
    this.circuitIdleMs = options.circuitIdleMs ?? 10 * 60_000
    this.maxCellsPerLinkPerRound = options.maxCellsPerLinkPerRound ?? 4096
    this.maxLinkBacklogBytes = options.maxLinkBacklogBytes ?? 64 * 1024 * 1024
    const shaping = options.shaping !== undefined && options.shaping.profile !== 'off' ? options.shaping : null
    this.shaping = shaping
    this.roundMs = options.roundMs
    this.roundsPerSlot = shaping === null ? 1 : Math.max(1, Math.round(shaping.slotMs / options.roundMs))
    this.maxQueuedCells = options.maxQueuedCells ?? DEFAULT_MAX_QUEUED_CELLS
    this.dropForward = options.testFaults?.dropForward
    this.createHold = shaping === null || shaping.kMin <= 1 ? null : new CreateHold(shaping.kMin, shaping.createHoldRounds)
    this.slotCreates = shaping === null ? null : new SlotCreateCounter(this.roundsPerSlot, this.stats.createsPerSlot)
    const perRound = options.maxCreatesPerRound ?? DEFAULT_MAX_CREATES_PER_ROUND
    const carriedBound = options.maxCarriedCreates ?? 16 * perRound
    // Served round-robin by link, and no link may hold more than a quarter of the queue (or two rounds).
    this.createQueue = new CreateQueue(perRound, carriedBound, {
      sourceOf: (carried) => carried.state,
      perSourceBound: Math.max(2 * perRound, Math.floor(carriedBound / 4)),
    })
    const keyLifeS = this.keySource.schedule.epochS + 2 * this.keySource.graceS
    const burst = options.createBurst ?? Math.max(1, Math.min(1024, Math.floor(this.replayCapacity / 4)))
    const rate = options.createRatePerS ?? Math.max(0, (this.replayCapacity - burst) / keyLifeS)
    if (burst + rate * keyLifeS > this.replayCapacity) {
      this.logger.warn('replay.table_can_fill', { capacity: this.replayCapacity, createRatePerS: rate, createBurst: burst, keyLifeS })
    }
    this.createBucket = new TokenBucket(rate, burst, Date.now())
    this.linkCreateRatePerS = options.linkCreateRatePerS ?? (this.position === 1 ? DEFAULT_LINK_CREATE_RATE_PER_S : undefined)
    this.linkCreateBurst = options.linkCreateBurst ?? DEFAULT_LINK_CREATE_BURST
    this.linkIdleMs = options.linkIdleMs ?? 300_000
    this.faults = new InputFaults(options.logger)
    this.linkLog = new LogAggregator(options.logger, { level: 'warn' })
    // A round acts on queued cells that peers chose: a bug they can trigger must not stop the clock.
    this.clock = shaping === null
      ? new RoundClock({ periodMs: options.roundMs, onRound: () => { this.guarded('round', () => this.round()) } })
      : new RoundClock({ periodMs: options.roundMs, onRound: (n) => { this.guarded('round', () => this.shapedRound(n)) }, wallClock: Date.now })
    this.backward = this.newStrategy()
    this.unsubscribeKeys = this.keySource.onChange(() => this.keysChanged())
    this.keysChanged()
  }

  /** The mixing strategy for one direction: rounds over circuits (strategy.ts). */
  protected newStrategy (): MixStrategy<QueuedCell> {
    return new RoundStrategy<QueuedCell>((queued) => queued.circuit.slot, this.interleaver)
  }

  /** Start the round clock and the idle sweep. */
  protected startRounds (): void {
    this.clock.start()
    const every = Math.max(1000, Math.min(30_000, this.circuitIdleMs / 4, this.linkIdleMs / 4))
    this.sweepTimer = setInterval(() => this.sweepIdle(), every)
    this.sweepTimer.unref()
  }

  /**
   * Stop the rounds. Nothing more leaves; tags accepted since the last round are still
   * logged (so a clean close of the key source keeps every tag this node accepted), and this
   * resolves once every append has settled.
   */
  protected async stopRounds (): Promise<void> {
    this.roundsStopped = true
    this.clock.stop()
    if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer)
    this.unsubscribeKeys()
    this.linkLog.close()
    this.appendFreshTags()
    await Promise.allSettled(this.appending)
  }

  get circuits (): number { return this.circuitCount }
  /** The number of the last round run (shaped: counted from the Unix epoch; −1 before the first). */
  get lastRound (): number { return this.lastRoundRun }
  /** Rounds the clock skipped because the process stalled a whole round or more (cumulative). */
  get missedRounds (): number { return this.clock.missedRounds }
  /** Whether this hop shapes (profile strict or elastic). */
  get isShaped (): boolean { return this.shaping !== null }
  get predecessorLinks (): number { return this.links.size }
  /** Epochs whose keys this hop holds a replay table for, oldest first. */
  get keyEpochs (): number[] { return [...this.slots.keys()].sort((a, b) => a - b) }
  /** Tags in the replay table of `epoch`'s key (for tests and metrics). */
  replayTags (epoch: number): number { return this.slots.get(epoch)?.table.size ?? 0 }

  // --- onion keys -----------------------------------------------------------------------

  /** The source opened or retired keys: drop the tables of keys no longer accepted. */
  private keysChanged (): void {
    const accepted = this.keySource.accepted()
    for (const [epoch, slot] of [...this.slots]) {
      if (!accepted.includes(slot.key)) this.dropSlot(epoch, slot)
    }
    for (const key of accepted) this.slotFor(key)
  }

  private dropSlot (epoch: number, slot: KeySlot): void {
    this.slots.delete(epoch)
    if (epoch > this.retiredThrough) this.retiredThrough = epoch
    slot.table.clear() // zeroed; the table's memory goes with the last reference
    // Tags not yet appended will never be (the key's log goes with it): their circuits end,
    // like those of a failed append. Only CREATEs of a key's very last round can be here.
    const unlogged = slot.freshCircuits
    slot.fresh = []
    slot.freshCircuits = []
    for (const circuit of unlogged) this.endCircuit(circuit)
    this.logger.debug('keys.table_dropped', { epoch, unlogged: unlogged.length })
  }

  /** The slot of `key`, made (and filled from its restored tags) on first use. */
  private slotFor (key: ActiveOnionKey): KeySlot | undefined {
    const existing = this.slots.get(key.epoch)
    if (existing !== undefined && existing.key === key) return existing
    if (existing !== undefined) this.dropSlot(key.epoch, existing)
    if (key.epoch <= this.retiredThrough) return undefined
    const table = new ReplayTable({ capacity: this.replayCapacity })
    const slot: KeySlot = {
      key,
      context: { geometry: this.geometry, cascadeId: this.cascadeId, epoch: key.epoch },
      table,
      fresh: [],
      freshCircuits: [],
      dead: false,
    }
    const { count, tags } = key.restored
    for (let i = 0; i < count; i++) {
      if (table.checkAndInsert(tags.subarray(i * REPLAY_TAG_BYTES, (i + 1) * REPLAY_TAG_BYTES)) === 'full') {
        // A table that cannot hold every restored tag would accept replays: never use the key.
        this.logger.error('keys.restored_too_many', { epoch: key.epoch, tags: count, capacity: this.replayCapacity })
        slot.dead = true
        break
      }
    }
    this.slots.set(key.epoch, slot)
    this.logger.debug('keys.table_opened', { epoch: key.epoch, restored: count })
    return slot
  }

  /**
   * The hop's forward output leaves as it arrives, not in rounds (the exit: TCP), so a new
   * circuit's forward items wait in `held` even when shaped (a shaped mix's rounds skip it).
   */
  protected get forwardLeavesAtOnce (): boolean { return false }

  // --- predecessor links ----------------------------------------------------------------

  /** Take a new link from the predecessor; returns the handlers to attach to it. */
  attachPredecessor (link: CellLink): CellLinkHandlers {
    const now = Date.now()
    const state: LinkState = {
      link,
      circuits: new Map(),
      carried: new Map(),
      cellsThisRound: 0,
      paused: false,
      batch: [],
      quarantine: new Map(),
      createBucket: this.linkCreateRatePerS === undefined ? null : new TokenBucket(this.linkCreateRatePerS, this.linkCreateBurst, now),
      lastBusy: now,
    }
    if (this.forwardBlocked) { state.paused = true; link.pauseInput() }
    this.links.set(link, state)
    this.stats.linksAccepted++
    return {
      onCell: (cell) => {
        if (!this.faults.guard('predecessor', () => this.fromPredecessor(state, cell))) this.faulted(state.circuits.get(cellCircuitId(cell)))
      },
      onClose: (reason) => {
        // A line per link with its time would be, at the entry, a record of who came and went
        // (R19): failures are counted, and logged as a count per reason once a minute.
        if (reason !== 'closed' && reason !== 'LINK_CLOSED') {
          this.stats.linksFailed++
          this.linkLog.count('link.failed', { reason })
        } else {
          this.logger.debug('link.closed', { reason })
        }
        this.predecessorClosed(state)
      },
    }
  }

  /** Close every predecessor link (this node can no longer carry their circuits). */
  protected closePredecessors (): void {
    for (const state of [...this.links.values()]) state.link.close()
  }

  private predecessorClosed (state: LinkState): void {
    if (this.links.get(state.link) !== state) return
    this.links.delete(state.link)
    this.stats.linksClosed++
    state.carried.clear()
    this.createQueue.forget(state)
    for (const circuit of [...state.circuits.values()]) this.endCircuit(circuit)
  }

  private fromPredecessor (state: LinkState, cell: Uint8Array): void {
    this.stats.cellsIn++
    if (this.dropForward !== undefined && this.dropForward(cell)) return
    if (++state.cellsThisRound >= this.maxCellsPerLinkPerRound && !state.paused) {
      state.paused = true
      state.link.pauseInput()
    }
    this.dispatch(state, cell)
  }

  /** Act on one cell from the predecessor (also a cell that waited behind a carried CREATE). */
  private dispatch (state: LinkState, cell: Uint8Array): void {
    const command = cellCommand(cell)
    if (command === CellCommand.PADDING) return
    const circuitId = cellCircuitId(cell)
    if (circuitId === 0) { this.stats.malformedCells++; return }
    // Per cell: look the ID up only while some CREATE of this link is carried (rare).
    const carried = state.carried.size === 0 ? undefined : state.carried.get(circuitId)
    if (carried !== undefined) {
      // Its CREATE waits for a later round: so does everything after it on this ID, in order.
      carried.after.push(cell)
      if (carried.after.length > this.maxQueuedCells) {
        state.carried.delete(circuitId)
        this.stats.circuitsOverQueue++
      }
      return
    }
    const body = cell.subarray(CELL_HEADER_BYTES)
    const circuit = state.circuits.get(circuitId)
    switch (command) {
      case CellCommand.CREATE:
        if (circuit !== undefined) { this.stats.malformedCells++; return }
        this.admitCreate(state, circuitId, body)
        return
      case CellCommand.RELAY: {
        if (circuit === undefined) { this.stats.unknownCircuitCells++; return }
        if (circuit.silenced) { this.stats.cellsDroppedSilenced++; return }
        const peeled = this.peelForward(circuit, body, cell)
        if (peeled === null) { this.stats.relayAuthFailures++; return }
        circuit.lastActivity = Date.now()
        const rungs = circuit.shape?.rungs
        if (rungs != null) {
          const control = circuit.peeler.lastControl
          rungs.request(decodeRungRequest(control), requestRound(roundAt(circuit.lastActivity, this.roundMs), this.position), rungRequestParity(control))
        }
        if (circuit.held === null) this.onForward(circuit, peeled)
        else if (circuit.held.push(peeled) > this.maxQueuedCells) this.overQueue(circuit)
        return
      }
      case CellCommand.DESTROY:
        this.stats.destroysIn++
        if (circuit !== undefined) this.destroyed(circuit)
        return
      default:
        this.stats.malformedCells++
    }
  }

  /**
   * Peel one forward layer; a mix writes the result straight into its outgoing cell (shaped:
   * into `cell` itself, the received cell whose body is `body`).
   */
  protected abstract peelForward (circuit: HopCircuit, body: Uint8Array, cell: Uint8Array): Uint8Array | null

  /** A CREATE arrived: open it now if this round's budget allows, else carry it (R17). */
  private admitCreate (state: LinkState, inId: number, body: Uint8Array): void {
    if (state.createBucket !== null && !state.createBucket.tryTake(Date.now())) {
      this.stats.createsRefusedRate++
      return
    }
    const carried: CarriedCreate = { state, inId, body, after: [] }
    switch (this.createQueue.admit(carried)) {
      case 'now':
        this.create(state, inId, body)
        return
      case 'carried':
        state.carried.set(inId, carried)
        this.stats.createsCarried++
        return
      case 'refused':
        this.stats.createsRefusedBusy++
    }
  }

  /** Whether a carried CREATE is still wanted: its link is open and nothing replaced it. */
  private readonly carriedLive = (carried: CarriedCreate): boolean =>
    this.links.get(carried.state.link) === carried.state && carried.state.carried.get(carried.inId) === carried

  /** Open the CREATEs carried to this round, each followed by the cells that waited behind it. */
  private openCarriedCreates (): void {
    const due = this.createsDue
    this.createQueue.nextRound(this.carriedLive, due)
    for (const carried of due) {
      carried.state.carried.delete(carried.inId)
      this.create(carried.state, carried.inId, carried.body)
      for (const cell of carried.after) this.dispatch(carried.state, cell)
    }
    due.length = 0
  }

  private create (state: LinkState, inId: number, body: Uint8Array): void {
    if (this.circuitCount >= this.maxCircuits || state.circuits.size >= this.maxCircuitsPerLink) {
      this.stats.createsRefusedLimit++
      return
    }
    if (state.quarantine.size > 0 && this.quarantined(state, inId)) {
      this.stats.createsRefusedQuarantine++
      return
    }
    const keys = this.keySource.accepted()
    if (keys.length === 0) { this.stats.createsRefusedNoKey++; return }
    let opened
    let keySlot: KeySlot | undefined
    // Trial-open with each accepted key, the current epoch's first: the epoch is bound in the
    // layer's AD, so at most one key authenticates.
    for (const key of keys) {
      const candidate = this.slotFor(key)
      if (candidate === undefined || candidate.dead) continue
      try {
        opened = openOnion(key.keyPair, this.position, body, candidate.context)
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err
        continue
      }
      keySlot = candidate
      break
    }
    if (opened === undefined || keySlot === undefined) {
      this.stats.createsRefusedAuth++
      return
    }
    // Every tag that may enter a table takes a token: the table cannot fill within a key's life.
    if (!this.createBucket.tryTake(Date.now())) {
      opened.keys.forward.fill(0); opened.keys.backward.fill(0)
      this.stats.createsRefusedRate++
      return
    }
    const verdict = keySlot.table.checkAndInsert(opened.replayTag)
    if (verdict !== 'fresh') {
      opened.keys.forward.fill(0); opened.keys.backward.fill(0)
      if (verdict === 'replay') this.stats.createsRefusedReplay++
      else this.stats.createsRefusedFull++
      return
    }
    const slot = this.freeSlots.pop() ?? this.nextSlot++
    const circuit = new HopCircuit(slot, state.link, inId,
      new ForwardPeeler(this.geometry, this.position, opened.keys.forward),
      new BackwardSealer(this.geometry, this.position, opened.keys.backward), Date.now())
    const round = roundAt(circuit.lastActivity, this.roundMs)
    if (this.shaping !== null) circuit.shape = new CircuitShape(this.shaping, this.roundsPerSlot, round)
    // With a durable key the tag is appended at the next round, and the circuit waits for it
    // (then, shaped, for the kMin hold). Its forward items wait in `held` meanwhile — except at
    // a shaped mix, whose forward queue keeps them (its rounds skip the circuit until released).
    circuit.awaitingLog = keySlot.key.log !== undefined
    const waits = circuit.awaitingLog || (circuit.shape !== null && this.createHold !== null)
    if (waits && (circuit.shape === null || this.forwardLeavesAtOnce)) circuit.held = []
    if (!this.onCreated(circuit, opened.next)) {
      this.freeSlots.push(slot)
      circuit.peeler.wipe(); circuit.sealer.wipe()
      this.stats.createsRefusedLimit++
      return
    }
    circuit.epoch = keySlot.key.epoch
    if (circuit.shape !== null) this.endsAt(circuit, lifetimeEndRound(this.shaping!, this.roundsPerSlot, round, this.epochEndSlot(circuit.epoch), this.endGraceRounds))
    if (circuit.awaitingLog) {
      keySlot.fresh.push(opened.replayTag)
      keySlot.freshCircuits.push(circuit)
    }
    this.slotCreates?.created()
    state.circuits.set(inId, circuit)
    this.circuitCount++
    this.stats.createsAccepted++
    this.stats.lastCreateEpoch = keySlot.key.epoch
    if (!circuit.awaitingLog) this.admit(circuit, round)
  }

  /**
   * The circuit's tag is durable (or its key keeps none): shaped with kMin, it joins the hold;
   * otherwise it is released, and what it held goes on.
   */
  private admit (circuit: HopCircuit, round: number): void {
    const shape = circuit.shape
    if (shape !== null && this.createHold !== null) {
      this.createHold.add(circuit, round)
      return
    }
    if (shape !== null) shape.released = true
    this.releaseHeld(circuit)
  }

  /** A CREATE was accepted: set the circuit up downstream (`next` is null at the exit). */
  protected abstract onCreated (circuit: HopCircuit, next: Uint8Array | null): boolean
  /** A forward cell peeled: the body for the successor (mix) or the relay payload (exit). */
  protected abstract onForward (circuit: HopCircuit, peeled: Uint8Array): void
  /** The circuit ended here: release what the subclass holds for it. */
  protected abstract onEnded (circuit: HopCircuit): void

  /** End a circuit at this hop: forget it, wipe its keys. Nothing is sent anywhere. */
  protected endCircuit (circuit: HopCircuit): void {
    if (circuit.ended) return
    circuit.ended = true
    const state = this.links.get(circuit.inLink)
    if (state?.circuits.get(circuit.inId) === circuit) {
      state.circuits.delete(circuit.inId)
      state.quarantine.set(circuit.inId, roundAt(Date.now(), this.roundMs) + QUARANTINE_ROUNDS)
    }
    this.circuitCount--
    this.freeSlots.push(circuit.slot)
    circuit.peeler.wipe()
    circuit.sealer.wipe()
    circuit.shape?.clear()
    this.onEnded(circuit)
  }

  private sweepIdle (): void {
    const oldest = Date.now() - this.circuitIdleMs
    const round = roundAt(Date.now(), this.roundMs)
    for (const state of this.links.values()) {
      for (const [inId, until] of state.quarantine) if (until <= round) state.quarantine.delete(inId)
      if (this.position === 1) {
        // The entry closes client links that hold no circuit (a bound on idle connections).
        if (state.circuits.size > 0 || state.carried.size > 0) state.lastBusy = Date.now()
        else if (Date.now() - state.lastBusy >= this.linkIdleMs) {
          this.stats.linksClosedIdle++
          state.link.close()
          continue
        }
      }
      for (const circuit of [...state.circuits.values()]) {
        // A silenced circuit gets no cells by design; its scheduled end ends it.
        if (circuit.lastActivity < oldest && !circuit.silenced) {
          this.stats.circuitsExpired++
          this.endCircuit(circuit)
        }
      }
    }
  }

  // --- backward -------------------------------------------------------------------------

  /**
   * Seal a backward cell for `circuit` now and release it with the next round. `inner` is the
   * successor's body (mix), the relay payload (exit), or null for a PAD of this hop's own.
   */
  queueBackward (circuit: HopCircuit, inner: Uint8Array | null): void {
    if (circuit.ended) return
    if (circuit.silenced) { this.stats.cellsDroppedSilenced++; return }
    if (circuit.shape !== null) {
      // Shaped: PADs fill the schedule by themselves; real cells wait for their slots.
      if (inner !== null) this.pushBackward(circuit, inner)
      return
    }
    const cell = new Uint8Array(this.geometry.cellSize)
    circuit.sealer.seal(inner, cell.subarray(CELL_HEADER_BYTES))
    if (inner === null) this.roundObserver?.countPadding(1, 'backward')
    writeCellHeader(cell, circuit.inId, CellCommand.RELAY)
    circuit.lastActivity = Date.now()
    if (!circuit.awaitingLog) this.backward.add({ cell, circuit })
    else if ((circuit.heldBackward ??= []).push(cell) > this.maxQueuedCells) this.overQueue(circuit)
  }

  /**
   * An unshaped round: everything queued leaves now, on the deadline — circuits awaiting
   * their tag have put nothing in the queues. Then the CREATEs carried to this round are
   * opened and the tags accepted since the last round are appended (after the release, so
   * neither delays it).
   */
  private round (): void {
    this.stats.rounds++
    this.takeForward(this.forwardOut)
    this.sendForward(this.forwardOut)
    this.forwardOut.length = 0
    this.takeBackward(this.backwardOut)
    this.sendBackward(this.backwardOut)
    this.backwardOut.length = 0
    this.newLinkRound()
    this.openCarriedCreates()
    this.appendFreshTags()
  }

  /** A new round for the predecessor links: their per-round cell counts start again. */
  private newLinkRound (): void {
    for (const state of this.links.values()) {
      state.cellsThisRound = 0
      if (state.paused && !this.forwardBlocked) { state.paused = false; state.link.resumeInput() }
    }
  }

  /** Appends in flight (awaited by `stopRounds`). */
  private readonly appending = new Set<Promise<void>>()

  /**
   * Append every key's tags accepted since the last round to its log: one write per key that
   * has any. When an append settles, its circuits are released (`logged`) or dropped.
   */
  private appendFreshTags (): void {
    for (const slot of this.slots.values()) {
      if (slot.fresh.length === 0) continue
      const tags = slot.fresh
      const circuits = slot.freshCircuits
      slot.fresh = []
      slot.freshCircuits = []
      const log = slot.key.log!
      const done = log.append(tags).then(() => this.logged(circuits), (err: unknown) => this.logFailed(slot, circuits, err))
      this.appending.add(done)
      void done.then(() => this.appending.delete(done))
    }
  }

  /**
   * Their tags are durable: the circuits may go on. Whatever they queued joins the queues
   * now, so it leaves from the next round on, in order.
   */
  private logged (circuits: readonly HopCircuit[]): void {
    const round = roundAt(Date.now(), this.roundMs)
    for (const circuit of circuits) {
      circuit.awaitingLog = false
      if (!circuit.ended) this.admit(circuit, round)
    }
  }

  /**
   * Pass on what a circuit held, now that nothing holds it: forward items (the exit delivers
   * payloads, an unshaped mix queues its CREATE and cells for the next round) and, unshaped,
   * backward cells.
   */
  private releaseHeld (circuit: HopCircuit): void {
    const held = circuit.held
    const heldBackward = circuit.heldBackward
    circuit.held = null
    circuit.heldBackward = null
    if (circuit.ended || this.roundsStopped) return
    if (heldBackward !== null) for (const cell of heldBackward) this.backward.add({ cell, circuit })
    if (held === null) return
    for (const item of held) {
      if (circuit.ended) break
      this.onForward(circuit, item)
    }
  }

  /** A failed append: the key goes, and so do the circuits whose tags were not recorded. */
  private logFailed (slot: KeySlot, circuits: readonly HopCircuit[], err: unknown): void {
    this.stats.tagLogFailures++
    this.logger.error('keys.tag_log_failed', { epoch: slot.key.epoch, code: (err as { code?: string }).code ?? 'ERROR', circuits: circuits.length })
    for (const circuit of circuits) {
      circuit.held = null
      circuit.heldBackward = null
      this.endCircuit(circuit)
    }
    if (!slot.dead) {
      slot.dead = true
      this.keySource.discard(slot.key.epoch).catch((cause: unknown) => {
        this.logger.error('keys.discard_failed', { epoch: slot.key.epoch, code: (cause as { code?: string }).code ?? 'ERROR' })
      })
    }
  }

  /**
   * The successor cannot take more for now: stop reading every predecessor until it drains
   * (TCP backpressure passes upstream instead of piling up here).
   */
  protected blockForward (): void {
    if (this.forwardBlocked) return
    this.forwardBlocked = true
    for (const state of this.links.values()) {
      if (!state.paused) { state.paused = true; state.link.pauseInput() }
    }
  }

  protected unblockForward (): void {
    if (!this.forwardBlocked) return
    this.forwardBlocked = false
    for (const state of this.links.values()) {
      if (state.paused) { state.paused = false; state.link.resumeInput() }
    }
  }

  /** Move this round's forward cells into `out`, in release order (the mix's successor side). */
  protected abstract takeForward (out: QueuedCell[]): void
  /** Send a round's forward cells (those of ended circuits are skipped). */
  protected abstract sendForward (cells: readonly QueuedCell[]): void

  private takeBackward (out: QueuedCell[]): void {
    this.stats.lastBackwardBatch = this.backward.pending
    if (this.backward.pending === 0) return
    this.backward.flush(out)
  }

  /** The admin server's round reporter (metrics), while one is attached. */
  protected roundObserver: RoundObserver | undefined

  /** Report each round's size and padding to `observer` (undefined: stop reporting). */
  observeRounds (observer: RoundObserver | undefined): void {
    this.roundObserver = observer
  }

  private sendBackward (order: readonly QueuedCell[]): void {
    if (order.length === 0) {
      this.roundObserver?.observeBatch(0, 'backward')
      return
    }
    // One batch per link, in the round's shuffled order; one write each.
    const batches = new Map<CellLink, Uint8Array[]>()
    for (const { cell, circuit } of order) {
      if (circuit.ended) continue
      let batch = batches.get(circuit.inLink)
      if (batch === undefined) { batch = []; batches.set(circuit.inLink, batch) }
      batch.push(cell)
    }
    let sent = 0
    for (const [link, batch] of batches) {
      if (!link.isOpen) continue
      link.send(batch)
      sent += batch.length
      this.stats.cellsOut += batch.length
      if (link.backlogBytes > this.maxLinkBacklogBytes) {
        this.stats.linksClosedSlow++
        this.logger.warn('link.too_slow', { backlogBytes: link.backlogBytes })
        link.close()
      }
    }
    this.roundObserver?.observeBatch(sent, 'backward')
  }

  // --- shaped rounds (docs/PROTOCOL.md §12) ------------------------------------------------

  /** A circuit's backward cell (a successor's cell, or an exit payload) waits for its slot. */
  protected pushBackward (circuit: HopCircuit, item: Uint8Array): void {
    if (circuit.silenced) { this.stats.cellsDroppedSilenced++; return }
    const shape = circuit.shape!
    // LOOP echoes waiting count against the bound too (exit).
    if (shape.backward.length + shape.loopsWaiting >= this.maxQueuedCells) { this.overQueue(circuit); return }
    shape.backward.push(item)
  }

  /** A circuit's peeled forward cell waits for its slot toward the successor (mix). */
  protected pushForward (circuit: HopCircuit, cell: Uint8Array): void {
    if (circuit.silenced) { this.stats.cellsDroppedSilenced++; return }
    const shape = circuit.shape!
    if (shape.forward.length >= this.maxQueuedCells) { this.overQueue(circuit); return }
    shape.forward.push(cell)
  }

  /**
   * A circuit's queue is at its bound (a neighbour sent far beyond its schedule, R1): the cell
   * is dropped, and since a dropped cell breaks the layers' counters the circuit is silenced:
   * shaped, it keeps its schedule until its end; unshaped (queues only while it waits for its
   * tag or a carried CREATE), it ends.
   */
  private overQueue (circuit: HopCircuit): void {
    this.stats.circuitsOverQueue++
    this.stats.cellsDroppedOverQueue++
    this.logger.debug('circuit.queue_over_bound', { bound: this.maxQueuedCells })
    this.destroyed(circuit)
  }

  // --- early ends (R5) ---------------------------------------------------------------------

  /**
   * A DESTROY from either side, or any other reason to stop carrying a circuit before its
   * time. Unshaped it ends now; shaped it is silenced: nothing real of it moves any more, its
   * schedule goes on (PADs backward, PADDING forward) until its scheduled end, so the far
   * link's frames per round never show the DESTROY (R5). Nothing is sent to either neighbour.
   */
  protected destroyed (circuit: HopCircuit): void {
    if (circuit.ended || circuit.silenced) return
    const shape = circuit.shape
    if (shape === null) { this.endCircuit(circuit); return }
    circuit.silenced = true
    this.stats.circuitsSilenced++
    circuit.held = null
    circuit.heldBackward = null
    shape.clearQueues()
    const round = roundAt(Date.now(), this.roundMs)
    this.endsAt(circuit, scheduledEndRound(this.shaping!, this.roundsPerSlot, round, this.epochEndSlot(circuit.epoch), this.endGraceRounds))
    this.logger.debug('circuit.silenced', { endsInRounds: circuit.endRound - round })
    this.onSilenced(circuit)
  }

  /** An exception escaped while handling a cell of `circuit` (if known): its state is suspect. */
  protected faulted (circuit: HopCircuit | undefined): void {
    this.stats.inputExceptions = this.faults.caught
    if (circuit !== undefined) this.destroyed(circuit)
  }

  /** Run `handler` on a peer's input; an exception is caught and counted (input-faults.ts). */
  protected guarded (where: string, handler: () => void): boolean {
    const ok = this.faults.guard(where, handler)
    if (!ok) this.stats.inputExceptions = this.faults.caught
    return ok
  }

  /** The circuit was silenced: drop what the role holds for its real traffic (exit: its streams). */
  protected onSilenced (_circuit: HopCircuit): void {}

  /** Set `circuit`'s end round (only ever earlier). */
  private endsAt (circuit: HopCircuit, round: number): void {
    if (round >= circuit.endRound) return
    circuit.endRound = round
    if (round < this.nextEndRound) this.nextEndRound = round
  }

  /**
   * Rounds after an end boundary (a creation slot's start, or the epoch's end) in which a
   * DESTROY still counts as on time: a client sends it in the boundary's first round, and it
   * reaches hop i some rounds later.
   */
  private get endGraceRounds (): number { return this.geometry.hops + 8 }

  /** The slot in which the epoch `epoch` ends (circuits of its key end there at the latest). */
  private epochEndSlot (epoch: number): number {
    return Math.floor(epochEndS(this.keySource.schedule, epoch) * 1000 / this.shaping!.slotMs)
  }

  /** End every shaped circuit whose scheduled end came by `round`. */
  private endDueCircuits (round: number): void {
    if (round < this.nextEndRound) return
    let next = Infinity
    const due = this.dueToEnd
    for (const state of this.links.values()) {
      for (const circuit of state.circuits.values()) {
        if (circuit.endRound <= round) due.push(circuit)
        else if (circuit.endRound < next) next = circuit.endRound
      }
    }
    this.nextEndRound = next
    if (due.length > 0) this.logger.debug('circuits.scheduled_end', { circuits: due.length })
    for (const circuit of due) this.endCircuit(circuit)
    due.length = 0
  }

  /** Whether `inId` is quarantined on the link (expired entries are dropped on the way). */
  private quarantined (state: LinkState, inId: number): boolean {
    const until = state.quarantine.get(inId)
    if (until === undefined) return false
    if (until > roundAt(Date.now(), this.roundMs)) return true
    state.quarantine.delete(inId)
    return false
  }

  /**
   * Round `round` (numbered from the Unix epoch) of a shaped hop. Rounds the event loop missed
   * (a stall) are caught up here: this round carries their scheduled cells too, up to
   * MAX_CATCH_UP_ROUNDS. Otherwise every stall would leave a circuit's queue that much longer
   * for good — cells arrive at the scheduled rate and leave at it — until a busy hop ended
   * circuits for being over their bound. What a catch-up shows is the stall, not what anyone
   * sent. An overloaded hop catches up too, every time: it no longer drains beyond its budget
   * (R1), so a hop that sent less than its neighbours would grow its queues until circuits
   * died; making up the PADs costs it load, which is what an overloaded hop must shed by
   * other means (fewer circuits, more cores).
   */
  private shapedRound (round: number): void {
    const missed = this.lastRoundRun < 0 ? 0 : round - this.lastRoundRun - 1
    const from = missed > 0 ? Math.max(this.lastRoundRun + 1, round - MAX_CATCH_UP_ROUNDS + 1) : round
    this.lastRoundRun = round
    this.stats.rounds++
    this.endDueCircuits(round)
    this.slotCreates!.tick(round)
    this.stats.createsLastSlot = this.slotCreates!.lastSlot
    this.releaseCreates(round)
    this.scratchUsed = 0
    this.sendShapedForward(this.shapeForward(from, round))
    this.shapeBackward(from, round)
    for (const state of this.links.values()) this.sendShapedBatch(state.link, state.batch)
    // As in an unshaped round: carried CREATEs and the tag log append come after the release.
    this.newLinkRound()
    this.openCarriedCreates()
    this.appendFreshTags()
  }

  /** kMin: release the held CREATEs if kMin are waiting or the first waited long enough. */
  private releaseCreates (round: number): void {
    if (this.createHold === null) return
    const out = this.released
    out.length = 0
    const why = this.createHold.due(round, (circuit) => !circuit.ended, out)
    if (why === 'none') return
    if (why === 'kmin') this.stats.holdReleasesKmin++
    else this.stats.holdReleasesTimeout++
    // Only circuits whose tags are durable enter the hold (`admit`).
    for (const circuit of out) {
      circuit.shape!.released = true
      this.releaseHeld(circuit)
    }
    out.length = 0
  }

  /**
   * The mix's forward cells of shaped round `round` (null: none, the exit): only released
   * circuits' — durable and out of the kMin hold.
   */
  protected shapeForward (_from: number, _round: number): Uint8Array[] | null { return null }

  /** Send a shaped round's forward cells (the mix). */
  protected sendShapedForward (_cells: Uint8Array[] | null): void {}

  /**
   * The next backward item of `circuit` for a slot of round `round`: a queued cell or payload,
   * or undefined for a PAD. The exit puts due LOOP echoes first.
   */
  protected nextBackward (circuit: HopCircuit, _round: number): Uint8Array | undefined {
    return circuit.shape!.backward.shift()
  }

  /** Fill every predecessor link's batch with its circuits' scheduled backward cells. */
  private shapeBackward (from: number, round: number): void {
    // Each hop delays a backward cell by one round: the exit's round n is round n + 1 here.
    // The schedule leaves, whatever waits: a burst a successor sent on one circuit must not
    // reappear on the predecessor link as that circuit's (R1). A mix drains a backlog for the
    // whole link alike (MAX_DRAIN_ROUNDS); the exit never does: its queue is the hosts' data.
    const lag = this.geometry.hops - this.position
    const drains = this.position < this.geometry.hops
    let total = 0
    let pads = 0
    for (const state of this.links.values()) {
      const cells = this.roundCells
      const labels = this.roundLabels
      cells.length = 0
      labels.length = 0
      const drain = drains ? this.backwardDrain(state, round - lag) : 0
      this.stats.drainRoundsBackward += drain
      const start = drain === 0 ? from : Math.min(from, round - drain)
      for (const circuit of state.circuits.values()) {
        if (circuit.ended || circuit.shape === null) continue
        const due = circuit.shape.cellsFor(start - lag, round - lag)
        // Awaiting its tag, a circuit fills its slots with PADs only (see the top comment).
        const waiting = circuit.awaitingLog
        for (let j = 0; j < due; j++) {
          const item = waiting ? undefined : this.nextBackward(circuit, round)
          if (item === undefined) pads++
          cells.push(this.sealBackward(circuit, item))
          labels.push(circuit.slot)
        }
      }
      this.interleave(state.batch)
      total += state.batch.length
    }
    this.stats.lastBackwardBatch = total
    this.stats.padsOut += pads
    this.roundObserver?.observeBatch(total, 'backward')
    if (pads > 0) this.roundObserver?.countPadding(pads, 'backward')
  }

  /** The drain one predecessor link needs this round: the largest backlog of its circuits. */
  private backwardDrain (state: LinkState, scheduleRound: number): number {
    let excess = 0
    for (const circuit of state.circuits.values()) {
      const shape = circuit.shape
      if (circuit.ended || shape === null || shape.backward.length === 0) continue
      const rounds = excessRounds(shape.backward.length, shape.rateAt(scheduleRound))
      if (rounds > excess) excess = rounds
    }
    return drainRounds(excess)
  }

  /**
   * Seal a backward item as it leaves: a successor's whole cell is sealed in place, a payload
   * (exit) or a PAD (undefined) into a scratch cell.
   */
  private sealBackward (circuit: HopCircuit, item: Uint8Array | undefined): Uint8Array {
    let cell: Uint8Array
    if (item !== undefined && item.length === this.geometry.cellSize) {
      cell = item
      const body = cell.subarray(CELL_HEADER_BYTES)
      circuit.sealer.seal(body, body)
    } else {
      cell = this.scratchCell()
      circuit.sealer.seal(item ?? null, cell.subarray(CELL_HEADER_BYTES))
    }
    writeCellHeader(cell, circuit.inId, CellCommand.RELAY)
    return cell
  }

  private scratchCell (): Uint8Array {
    if (this.scratchUsed === this.scratch.length) this.scratch.push(new Uint8Array(this.geometry.cellSize))
    return this.scratch[this.scratchUsed++]!
  }

  /**
   * Write `roundCells` to `out` in a uniform random interleaving that keeps each circuit's
   * order (labels in `roundLabels`); allocation-free once the arrays have grown.
   */
  protected interleave (out: Uint8Array[]): void {
    const n = this.roundCells.length
    const index = this.roundIndex
    index.length = n
    for (let i = 0; i < n; i++) index[i] = i
    this.interleaver.permute(index, this.labelOf, this.roundOrder)
    out.length = 0
    for (let i = 0; i < n; i++) out.push(this.roundCells[this.roundOrder[i]!]!)
  }

  /** One write of a shaped round's backward cells on one predecessor link. */
  private sendShapedBatch (link: CellLink, batch: Uint8Array[]): void {
    if (!link.isOpen) return
    link.send(batch)
    this.stats.cellsOut += batch.length
    if (link.backlogBytes > this.maxLinkBacklogBytes) {
      this.stats.linksClosedSlow++
      this.logger.warn('link.too_slow', { backlogBytes: link.backlogBytes })
      link.close()
    }
  }
}
