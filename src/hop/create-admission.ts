/**
 * How a hop admits CREATEs (docs/HOP.md "CREATEs"): the CREATE budgets (per link as they
 * arrive, hop-wide once one authenticates: R6, the replay table cannot fill), the CREATEs
 * carried to later rounds past `maxCreatesPerRound` (R17), the trial-open with each onion key
 * accepted now (R18), one replay table per key, and the once-per-round append of new tags to
 * their key's log (R2): a circuit waits for its tag to be durable, a round never does.
 */
import { ProtocolError } from '../protocol/errors.js'
import { openOnion, type OnionContext, type OpenedOnion } from '../protocol/onion.js'
import type { Geometry } from '../protocol/geometry.js'
import type { Logger } from '../base/logger.js'
import { LogAggregator } from '../base/log-aggregate.js'
import type { ActiveOnionKey, OnionKeySource } from './onion-keys.js'
import { TokenBucket } from '../link/token-bucket.js'
import { CreateQueue } from './create-queue.js'
import type { HopCircuit } from './hop-circuit.js'
import { DEFAULT_LINK_CREATE_BURST, DEFAULT_LINK_CREATE_RATE_PER_S, DEFAULT_MAX_CREATES_PER_ROUND, type HopOptions } from './hop-options.js'
import type { HopStats } from './hop-stats.js'
import type { CarriedCreate, LinkState } from './predecessor-link.js'
import { REPLAY_TAG_BYTES, ReplayTable } from './replay-table.js'

/** One onion key as the hop uses it: its replay table, and the tags not yet logged. */
export interface KeySlot {
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

/** A CREATE that authenticated and is fresh: its layer keys and the key that opened it. */
export interface OpenedCreate {
  readonly opened: OpenedOnion
  readonly slot: KeySlot
}

/** What admission asks of the hop core. */
export interface AdmissionHost {
  /** Whether `state`'s link is still attached (a carried CREATE of a closed link is dropped). */
  isAttached (state: LinkState): boolean
  /** Open the CREATE `body` on `inId` now (the round's budget allows it). */
  openCreate (state: LinkState, inId: number, body: Uint8Array): void
  /** Act on a cell that waited behind a carried CREATE. */
  dispatch (state: LinkState, cell: Uint8Array): void
  endCircuit (circuit: HopCircuit): void
  /** The tags of `circuits` are durable: they may go on. */
  tagsDurable (circuits: readonly HopCircuit[]): void
}

/** What an operator should check when CREATEs fail to open here. */
const AUTH_HINT = 'no onion key of this node opens these CREATEs: check this clock against the other nodes\' (mixgate_epoch), or a client uses other keys'

export class CreateAdmission {
  private readonly host: AdmissionHost
  private readonly stats: HopStats
  private readonly logger: Logger
  /**
   * CREATEs no accepted key opens, once a minute at warn: a client with other keys, garbage,
   * or this node's clock off by an epoch (then it refuses every circuit, and said nothing).
   */
  private readonly authFailures: LogAggregator
  private readonly geometry: Geometry
  private readonly position: number
  private readonly cascadeId: Uint8Array
  private readonly keySource: OnionKeySource
  readonly replayCapacity: number
  private readonly slots = new Map<number, KeySlot>()
  /** Keys up to this epoch were dropped: never used again (their tags are gone). */
  private retiredThrough = -1
  private readonly unsubscribeKeys: () => void
  private readonly createQueue: CreateQueue<CarriedCreate>
  /** Every CREATE that authenticated takes a token (R6: the replay table cannot fill). */
  private readonly createBucket: TokenBucket
  private readonly linkCreateRatePerS: number | undefined
  private readonly linkCreateBurst: number
  /** Reused every round: the carried CREATEs it opens. */
  private readonly createsDue: CarriedCreate[] = []
  /** Appends in flight (awaited by `close`). */
  private readonly appending = new Set<Promise<void>>()

  constructor (options: HopOptions, stats: HopStats, host: AdmissionHost) {
    this.host = host
    this.stats = stats
    this.logger = options.logger
    this.authFailures = new LogAggregator(options.logger, { level: 'warn' })
    this.geometry = options.geometry
    this.position = options.position
    this.cascadeId = options.cascadeId
    this.keySource = options.onionKeys
    this.replayCapacity = Math.min(options.replayCapacity ?? (1 << 18), options.onionKeys.capacity ?? Infinity)
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
    this.unsubscribeKeys = this.keySource.onChange(() => this.keysChanged())
    this.keysChanged()
  }

  /** A new predecessor link's CREATE budget (null: unlimited). */
  linkBucket (now: number): TokenBucket | null {
    return this.linkCreateRatePerS === undefined ? null : new TokenBucket(this.linkCreateRatePerS, this.linkCreateBurst, now)
  }

  /** Epochs whose keys this hop holds a replay table for, oldest first. */
  get keyEpochs (): number[] { return [...this.slots.keys()].sort((a, b) => a - b) }
  /** Tags in the replay table of `epoch`'s key. */
  replayTags (epoch: number): number { return this.slots.get(epoch)?.table.size ?? 0 }

  // --- budgets and carried CREATEs (R6, R17) ---------------------------------------------

  /** A CREATE arrived: open it now if this round's budget allows, else carry it (R17). */
  admit (state: LinkState, inId: number, body: Uint8Array): void {
    if (state.createBucket !== null && !state.createBucket.tryTake(Date.now())) {
      this.stats.createsRefusedRate++
      return
    }
    const carried: CarriedCreate = { state, inId, body, after: [] }
    switch (this.createQueue.admit(carried)) {
      case 'now':
        this.host.openCreate(state, inId, body)
        return
      case 'carried':
        state.carried.set(inId, carried)
        this.stats.createsCarried++
        return
      case 'refused':
        this.stats.createsRefusedBusy++
    }
  }

  /** The link closed: its carried CREATEs go. */
  forget (state: LinkState): void {
    state.carried.clear()
    this.createQueue.forget(state)
  }

  /** Whether a carried CREATE is still wanted: its link is open and nothing replaced it. */
  private readonly carriedLive = (carried: CarriedCreate): boolean =>
    this.host.isAttached(carried.state) && carried.state.carried.get(carried.inId) === carried

  /** Open the CREATEs carried to this round, each followed by the cells that waited behind it. */
  openCarried (): void {
    const due = this.createsDue
    this.createQueue.nextRound(this.carriedLive, due)
    for (const carried of due) {
      carried.state.carried.delete(carried.inId)
      this.host.openCreate(carried.state, carried.inId, carried.body)
      for (const cell of carried.after) this.host.dispatch(carried.state, cell)
    }
    due.length = 0
  }

  // --- opening with the onion keys (R18) and the replay tables --------------------------

  /**
   * Trial-open a CREATE with each accepted key, the current epoch's first (the epoch is bound
   * in the layer's AD: at most one authenticates), take a token and check its replay tag.
   * Null (counted) if it is refused.
   */
  open (body: Uint8Array): OpenedCreate | null {
    const keys = this.keySource.accepted()
    if (keys.length === 0) { this.stats.createsRefusedNoKey++; return null }
    let opened
    let slot: KeySlot | undefined
    for (const key of keys) {
      const candidate = this.slotFor(key)
      if (candidate === undefined || candidate.dead) continue
      try {
        opened = openOnion(key.keyPair, this.position, body, candidate.context)
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err
        continue
      }
      slot = candidate
      break
    }
    if (opened === undefined || slot === undefined) {
      this.stats.createsRefusedAuth++
      this.authFailures.count('create.refused_auth', { epochs: this.keyEpochs.join(','), hint: AUTH_HINT })
      return null
    }
    // Every tag that may enter a table takes a token: the table cannot fill within a key's life.
    if (!this.createBucket.tryTake(Date.now())) {
      opened.keys.forward.fill(0); opened.keys.backward.fill(0)
      this.stats.createsRefusedRate++
      return null
    }
    const verdict = slot.table.checkAndInsert(opened.replayTag)
    if (verdict !== 'fresh') {
      opened.keys.forward.fill(0); opened.keys.backward.fill(0)
      if (verdict === 'replay') this.stats.createsRefusedReplay++
      else this.stats.createsRefusedFull++
      return null
    }
    return { opened, slot }
  }

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
    for (const circuit of unlogged) this.host.endCircuit(circuit)
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

  // --- tag logs (R2) ------------------------------------------------------------------------

  /** `circuit` was opened with a durable key: its tag is appended at the next round. */
  awaitLog (slot: KeySlot, tag: Uint8Array, circuit: HopCircuit): void {
    slot.fresh.push(tag)
    slot.freshCircuits.push(circuit)
  }

  /**
   * Append every key's tags accepted since the last round to its log: one write per key that
   * has any. When an append settles, its circuits go on (`tagsDurable`) or end.
   */
  appendFreshTags (): void {
    for (const slot of this.slots.values()) {
      if (slot.fresh.length === 0) continue
      const tags = slot.fresh
      const circuits = slot.freshCircuits
      slot.fresh = []
      slot.freshCircuits = []
      const log = slot.key.log!
      const done = log.append(tags).then(() => this.host.tagsDurable(circuits), (err: unknown) => this.logFailed(slot, circuits, err))
      this.appending.add(done)
      void done.then(() => this.appending.delete(done))
    }
  }

  /** A failed append: the key goes, and so do the circuits whose tags were not recorded. */
  private logFailed (slot: KeySlot, circuits: readonly HopCircuit[], err: unknown): void {
    this.stats.tagLogFailures++
    this.logger.error('keys.tag_log_failed', { epoch: slot.key.epoch, code: (err as { code?: string }).code ?? 'ERROR', circuits: circuits.length })
    for (const circuit of circuits) {
      circuit.held = null
      circuit.heldBackward = null
      this.host.endCircuit(circuit)
    }
    if (!slot.dead) {
      slot.dead = true
      this.keySource.discard(slot.key.epoch).catch((cause: unknown) => {
        this.logger.error('keys.discard_failed', { epoch: slot.key.epoch, code: (cause as { code?: string }).code ?? 'ERROR' })
      })
    }
  }

  /**
   * Stop following the key source; the tags accepted since the last round are still appended
   * (a clean close keeps every tag this hop accepted). Resolves once every append settled.
   */
  async close (): Promise<void> {
    this.authFailures.close()
    this.unsubscribeKeys()
    this.appendFreshTags()
    await Promise.allSettled(this.appending)
  }
}
