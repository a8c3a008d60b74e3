/**
 * Epochs: the hour-long (by default) periods each onion key lives for, and which keys a
 * node accepts at a given moment (DESIGN-REVIEW R18).
 *
 *   epoch(t)  = floor((t − genesisS) / epochS)           t in Unix seconds
 *   start(e)  = genesisS + e · epochS,   end(e) = start(e + 1)
 *
 * At time t in epoch e a node accepts CREATEs under
 *   - the key of e (current),
 *   - the key of e − 1 (previous) only while t < start(e) + G, the grace window after the
 *     boundary, for circuits a client built just before it with a slightly slow clock,
 *   - the key of e + 1 (next) only while t ≥ end(e) − G, for clients whose clock runs a
 *     little fast.
 * Nothing else. Wider windows would let an observer sort clients by their clock error (R18).
 * G < epochS / 2, so at most two keys are ever accepted at once.
 *
 * Everything here is a pure function of a schedule and a time (so it sits in src/protocol,
 * where the directory, the hop and the client read it without the node runtime);
 * `EpochClock` only adds an injectable clock so that tests can move time by hand.
 */
import { KeysError, KeysErrorCode } from './keys-errors.js'

export const DEFAULT_EPOCH_S = 3600
export const DEFAULT_GRACE_S = 120
export const DEFAULT_GENESIS_S = 0

export interface EpochSchedule {
  /** Unix time (seconds) at which epoch 0 starts. */
  readonly genesisS: number
  /** Length of one epoch in seconds. */
  readonly epochS: number
}

/** Milliseconds since the Unix epoch, like `Date.now`. */
export type Clock = () => number

export const systemClock: Clock = () => Date.now()

/** How a node treats a CREATE under the key of some epoch, at some moment. */
export type KeyAcceptance = 'current' | 'previous' | 'next' | 'refused'

/** A checked schedule: `epochS` a positive integer, `genesisS` a non-negative integer. */
export function epochSchedule (options: { epochS?: number, genesisS?: number } = {}): EpochSchedule {
  const { epochS = DEFAULT_EPOCH_S, genesisS = DEFAULT_GENESIS_S } = options
  if (!Number.isSafeInteger(epochS) || epochS < 1) {
    throw new KeysError(KeysErrorCode.BAD_OPTION, `epochS must be a positive integer number of seconds, got ${epochS}`)
  }
  if (!Number.isSafeInteger(genesisS) || genesisS < 0) {
    throw new KeysError(KeysErrorCode.BAD_OPTION, `genesisS must be a non-negative integer Unix time, got ${genesisS}`)
  }
  return { epochS, genesisS }
}

/** Throws unless `graceS` is a usable grace window for `schedule` (0 ≤ G < epochS / 2). */
export function checkGrace (schedule: EpochSchedule, graceS: number): void {
  if (!Number.isFinite(graceS) || graceS < 0 || graceS >= schedule.epochS / 2) {
    throw new KeysError(KeysErrorCode.BAD_OPTION, `the grace window must be at least 0 and less than half an epoch (${schedule.epochS / 2} s), got ${graceS}`)
  }
}

/** The epoch that contains Unix time `unixS`. */
export function epochAt (schedule: EpochSchedule, unixS: number): number {
  if (!Number.isFinite(unixS) || unixS < schedule.genesisS) {
    throw new KeysError(KeysErrorCode.BAD_EPOCH, 'the time is before the epoch schedule\'s genesis (is the clock right?)')
  }
  return Math.floor((unixS - schedule.genesisS) / schedule.epochS)
}

/** Unix time (seconds) at which `epoch` starts. */
export function epochStartS (schedule: EpochSchedule, epoch: number): number {
  checkEpoch(epoch)
  return schedule.genesisS + epoch * schedule.epochS
}

/** Unix time (seconds) at which `epoch` ends: the start of the next one. */
export function epochEndS (schedule: EpochSchedule, epoch: number): number {
  return epochStartS(schedule, epoch + 1)
}

/** How a CREATE under `epoch`'s key is treated at `unixS` (the rule at the top of this file). */
export function keyAcceptance (schedule: EpochSchedule, epoch: number, unixS: number, graceS: number): KeyAcceptance {
  checkGrace(schedule, graceS)
  checkEpoch(epoch)
  const current = epochAt(schedule, unixS)
  if (epoch === current) return 'current'
  if (epoch === current - 1 && unixS < epochStartS(schedule, current) + graceS) return 'previous'
  if (epoch === current + 1 && unixS >= epochEndS(schedule, current) - graceS) return 'next'
  return 'refused'
}

/** The epochs whose keys are accepted at `unixS`, oldest first (one or two of them). */
export function acceptedEpochs (schedule: EpochSchedule, unixS: number, graceS: number): number[] {
  const current = epochAt(schedule, unixS)
  const out: number[] = []
  for (const epoch of [current - 1, current, current + 1]) {
    if (epoch >= 0 && keyAcceptance(schedule, epoch, unixS, graceS) !== 'refused') out.push(epoch)
  }
  return out
}

/**
 * The oldest epoch whose key is still needed at `unixS`: the previous epoch during the grace
 * window after a boundary, the current one otherwise. Everything older can be erased.
 */
export function oldestNeededEpoch (schedule: EpochSchedule, unixS: number, graceS: number): number {
  return acceptedEpochs(schedule, unixS, graceS)[0]!
}

/**
 * The next Unix time after `unixS` at which the set of accepted keys changes: the end of
 * the grace window, the opening of the next key's window, or the boundary itself.
 */
export function nextAcceptanceChangeS (schedule: EpochSchedule, unixS: number, graceS: number): number {
  checkGrace(schedule, graceS)
  const current = epochAt(schedule, unixS)
  const start = epochStartS(schedule, current)
  const end = epochEndS(schedule, current)
  const candidates = [start + graceS, end - graceS, end].filter((t) => t > unixS)
  return Math.min(...candidates)
}

/** A schedule, a grace window and a clock: the same questions, asked about "now". */
export class EpochClock {
  readonly schedule: EpochSchedule
  readonly graceS: number
  private readonly clock: Clock

  constructor (options: { schedule?: EpochSchedule, graceS?: number, clock?: Clock } = {}) {
    this.schedule = options.schedule ?? epochSchedule()
    this.graceS = options.graceS ?? Math.min(DEFAULT_GRACE_S, defaultGraceFor(this.schedule))
    checkGrace(this.schedule, this.graceS)
    this.clock = options.clock ?? systemClock
  }

  /** Now, in Unix seconds (fractional). */
  nowS (): number {
    return this.clock() / 1000
  }

  current (): number {
    return epochAt(this.schedule, this.nowS())
  }

  acceptance (epoch: number): KeyAcceptance {
    return keyAcceptance(this.schedule, epoch, this.nowS(), this.graceS)
  }

  accepted (): number[] {
    return acceptedEpochs(this.schedule, this.nowS(), this.graceS)
  }

  oldestNeeded (): number {
    return oldestNeededEpoch(this.schedule, this.nowS(), this.graceS)
  }

  /** Milliseconds until the accepted set next changes (for a timer; never negative). */
  msUntilNextChange (): number {
    const now = this.nowS()
    return Math.max(0, Math.ceil((nextAcceptanceChangeS(this.schedule, now, this.graceS) - now) * 1000))
  }
}

/** The default grace window shrunk for short test epochs: a quarter epoch at most. */
function defaultGraceFor (schedule: EpochSchedule): number {
  return schedule.epochS / 4
}

function checkEpoch (epoch: number): void {
  if (!Number.isSafeInteger(epoch) || epoch < 0) {
    throw new KeysError(KeysErrorCode.BAD_EPOCH, `an epoch number must be a non-negative integer, got ${epoch}`)
  }
}
