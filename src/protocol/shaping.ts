/**
 * Traffic shaping: the schedule every client and hop of a shaped cascade follows, so that what
 * an observer sees on any link depends on the configuration, never on what the users do
 * (DESIGN "Shaping and cover", DESIGN-REVIEW R1, R8, R10, R13).
 *
 * The parameters are cascade-wide and signed in every node descriptor (docs/PROTOCOL.md §12):
 * a client that shaped differently from the others would stand out, so nothing here is a
 * per-client choice.
 *
 *   - Time is cut into rounds (`roundMs`) and slots (`slotMs`, a multiple of roundMs), both
 *     counted from the Unix epoch, so every node and client agrees on round n and slot s up to
 *     clock error (NTP; epochs need it already).
 *   - A circuit runs at a rate: cells per round, possibly fractional (0.1 = one cell every ten
 *     rounds). In round n it carries exactly `cellsInRound(rate, n)` cells in each direction.
 *   - `strict` has one rate; `elastic` a ladder of rates ("rungs"), one rung per direction: the
 *     client asks for a forward and a backward rung in the control byte of each hop's forward
 *     layer during slot s, and they apply from slot s+1. One thing changes a rate inside a slot:
 *     a *wake* — a request for a rung above 0 sent while that direction runs at rung 0 lifts it
 *     to rung 1 from a fixed number of rounds later to the end of the slot, so a short exchange
 *     leaves the bottom rung at once (PROTOCOL.md §12.3: at most log2(rungs − 1 + SR + 1) bits
 *     per slot per direction, SR rounds per slot). `off` shapes nothing: rounds only (weaker).
 *   - A client keeps exactly `circuits` circuits; each lives `circuitSlots` slots, and one new
 *     circuit starts every circuitSlots / circuits slots, at a slot boundary.
 */
import { ProtocolError, ProtocolErrorCode } from './errors.js'
import { backwardLagRounds } from './round-phase.js'

export const SHAPING_PROFILES = ['off', 'strict', 'elastic'] as const
export type ShapingProfile = typeof SHAPING_PROFILES[number]

/** Rates are carried as integer thousandths of a cell per round ("millicells"). */
export const MILLI = 1000
/**
 * The most cells per round one circuit may be shaped to in one direction: 256 cells (≈ 52 MB/s
 * at 2 KiB cells and 10 ms rounds). A hop's queue per circuit and direction (2048 cells by
 * default) then holds eight rounds of it, and the link drain's allowance (two rounds plus a
 * cell, link-drain.ts) stays below that bound.
 */
export const MAX_RATE_MILLI = 256 * MILLI
/** The most `clientRateMilli` may be: every circuit of a client at the highest rate. */
export const MAX_CLIENT_RATE_MILLI = 16 * MAX_RATE_MILLI
/** A forward and a backward rung fit the control byte, 3 bits each (PROTOCOL.md §12.3). */
export const MAX_RUNGS = 8
/** The rung a wake lifts a direction to (PROTOCOL.md §12.3). */
export const WAKE_RUNG = 1

export interface ShapingParams {
  readonly profile: ShapingProfile
  /** Millicells per round per circuit, ascending: strict has one, elastic 2..16, off none. */
  readonly ratesMilli: readonly number[]
  /** Slot length in ms; a multiple of the cascade's roundMs. */
  readonly slotMs: number
  /** Circuits a client keeps at all times (K). */
  readonly circuits: number
  /** Slots a circuit lives (L); a multiple of `circuits`, so one starts every L/K slots. */
  readonly circuitSlots: number
  /** A hop holds CREATEs until this many are waiting (n−1 defence, R8); 1 = no holding. */
  readonly kMin: number
  /** …or until this many rounds passed since the first one held. */
  readonly createHoldRounds: number
  /** LOOP probes per client per slot, each on a circuit drawn at random (λ_L, R10). */
  readonly loopsPerSlot: number
  /** The exit echoes a LOOP after 0..J rounds drawn at random (R10). */
  readonly loopJitterRounds: number
  /**
   * Elastic: the most millicells per round one client's circuits may ask for together in each
   * direction, counting rungs above the wake rung only (§12.3 "Client rate"): what one client
   * may ask of the cascade, however many circuits it keeps.
   */
  readonly clientRateMilli: number
}

/**
 * Defaults for a browser on a 10 ms-round cascade: 2 s slots (a download climbs from the
 * first boundary after it started, the top rung three boundaries on; a short exchange wakes at
 * once); a circuit lives 10 minutes (Tor's dirtiness), a new one every 50 s; 2 loops per
 * second per client. Twelve circuits so that a browser isolating sites by SOCKS credentials
 * (Tor Browser) finds an unused circuit for each new site at once, ten sites in a burst
 * included: a new circuit can start only in a creation slot (PROTOCOL.md §12.6, ANONYMITY.md
 * "Isolation under shaping").
 */
const COMMON = {
  slotMs: 2_000,
  circuits: 12,
  circuitSlots: 300,
  kMin: 1,
  createHoldRounds: 100,
  loopsPerSlot: 4,
  loopJitterRounds: 8,
  clientRateMilli: 128 * MILLI,
} as const

/**
 * Each profile's defaults, in millicells per round. Elastic 0.2, 1, 2, 8, 32, 64, 128, each
 * direction on its own rung: idle, a client's twelve circuits cost 12 × 20 cells/s × 2 KiB ≈
 * 490 KB/s each way (Nym's idle cover is ≈ 133 KB/s, ANCHORS.md §2; the price of per-site
 * isolation without waiting, ANONYMITY.md); at the top rung one circuit carries ≈ 26 MB/s of
 * cells in that direction, while a download's forward runs at the rung its SENDMEs need (8
 * cells per round, 1/16 of it). Strict 1: 200 KB/s per circuit, always.
 */
export const DEFAULT_SHAPING: Readonly<Record<ShapingProfile, ShapingParams>> = {
  off: { profile: 'off', ratesMilli: [], ...COMMON },
  strict: { profile: 'strict', ratesMilli: [1 * MILLI], ...COMMON },
  elastic: { profile: 'elastic', ratesMilli: [200, 1 * MILLI, 2 * MILLI, 8 * MILLI, 32 * MILLI, 64 * MILLI, 128 * MILLI], ...COMMON },
}

/**
 * The default profile of `mixgate up` and of new configs. `off` is faster and weaker (rounds
 * only); `strict` costs its one rate whatever the user does.
 */
export const DEFAULT_SHAPING_PROFILE: ShapingProfile = 'elastic'

/** Check `params` for a cascade with rounds of `roundMs`; a ProtocolError names the field. */
export function checkShaping (params: ShapingParams, roundMs: number): void {
  const bad = (field: string, problem: string): never => {
    throw new ProtocolError(ProtocolErrorCode.SHAPING_BAD_PARAMS, `shaping.${field} ${problem}`)
  }
  const rates = params.ratesMilli
  const expected = params.profile === 'off' ? [0, 0] : params.profile === 'strict' ? [1, 1] : [2, MAX_RUNGS]
  if (rates.length < expected[0]! || rates.length > expected[1]!) {
    bad('rates', `must list ${expected[0] === expected[1] ? `exactly ${expected[0]}` : `${expected[0]} to ${expected[1]}`} rates for profile ${params.profile}, got ${rates.length}`)
  }
  rates.forEach((rate, i) => {
    if (!Number.isInteger(rate) || rate < 1 || rate > MAX_RATE_MILLI) bad('rates', `must be multiples of 0.001 between 0.001 and ${MAX_RATE_MILLI / MILLI} cells per round`)
    if (i > 0 && rate <= rates[i - 1]!) bad('rates', 'must be in ascending order without repeats')
  })
  if (!Number.isInteger(params.slotMs) || params.slotMs < roundMs || params.slotMs % roundMs !== 0 || params.slotMs > 3_600_000) {
    bad('slotMs', `must be a multiple of the round length (${roundMs} ms) up to one hour, got ${params.slotMs}`)
  }
  if (!Number.isInteger(params.circuits) || params.circuits < 1 || params.circuits > 16) bad('circuits', `must be 1 to 16, got ${params.circuits}`)
  if (!Number.isInteger(params.circuitSlots) || params.circuitSlots < 1 || params.circuitSlots % params.circuits !== 0) {
    bad('circuitSlots', `must be a positive multiple of circuits (${params.circuits}), got ${params.circuitSlots}`)
  }
  if (!Number.isInteger(params.kMin) || params.kMin < 1 || params.kMin > 1024) bad('kMin', `must be 1 to 1024, got ${params.kMin}`)
  if (!Number.isInteger(params.createHoldRounds) || params.createHoldRounds < 0 || params.createHoldRounds > 100_000) bad('createHoldRounds', `must be 0 to 100000, got ${params.createHoldRounds}`)
  if (!Number.isInteger(params.loopsPerSlot) || params.loopsPerSlot < 0 || params.loopsPerSlot > 10_000) bad('loopsPerSlot', `must be 0 to 10000, got ${params.loopsPerSlot}`)
  if (!Number.isInteger(params.loopJitterRounds) || params.loopJitterRounds < 0 || params.loopJitterRounds > 1000) bad('loopJitterRounds', `must be 0 to 1000, got ${params.loopJitterRounds}`)
  if (!Number.isInteger(params.clientRateMilli) || params.clientRateMilli < 1 || params.clientRateMilli > MAX_CLIENT_RATE_MILLI) {
    bad('clientRate', `must be between 0.001 and ${MAX_CLIENT_RATE_MILLI / MILLI} cells per round, got ${params.clientRateMilli / MILLI}`)
  }
}

/** Round n at Unix time `unixMs` (rounds counted from the Unix epoch). */
export function roundAt (unixMs: number, roundMs: number): number {
  return Math.floor(unixMs / roundMs)
}

/** Slot s at Unix time `unixMs`. */
export function slotAt (unixMs: number, slotMs: number): number {
  return Math.floor(unixMs / slotMs)
}

/**
 * Cells a circuit at `rateMilli` carries in round `round`: floor((n+1)·r) − floor(n·r), so
 * that any stretch of m rounds carries m·r cells give or take one, evenly spread, and every
 * party computes the same count for the same round. The count depends only on n mod 1000
 * (r is in thousandths), so the products stay small and exact whatever the round number —
 * rounds since 1970 times a rate would not fit a double's 53 bits.
 */
export function cellsInRound (rateMilli: number, round: number): number {
  const k = round % MILLI
  return Math.floor((k + 1) * rateMilli / MILLI) - Math.floor(k * rateMilli / MILLI)
}

/** Whether slot `slot` starts a new circuit (one every circuitSlots / circuits slots). */
export function isCreationSlot (params: ShapingParams, slot: number): boolean {
  return slot % (params.circuitSlots / params.circuits) === 0
}

// --- the control byte of a forward layer (PROTOCOL.md §6.1, §12.3) ----------------------

const RUNG_REQUEST_FLAG = 0x80
const TARGET_PARITY_BIT = 0x40
const RUNG_BITS = 3
const RUNG_MASK = 0x07

/**
 * The control byte asking every hop for `forward` and `backward` rungs in slot `targetSlot`
 * (the next one): `0x80 | (targetSlot mod 2) << 6 | forward << 3 | backward`. The target's
 * parity lets a hop place a request that reached it late — after a stall, past its own slot
 * boundary — in the slot it was sent in, so that every hop of a circuit derives the same rungs
 * however unevenly they run.
 */
export function encodeRungRequest (forward: number, backward: number, targetSlot = 0): number {
  checkRung(forward)
  checkRung(backward)
  return RUNG_REQUEST_FLAG | ((targetSlot & 1) === 1 ? TARGET_PARITY_BIT : 0) | forward << RUNG_BITS | backward
}

function checkRung (rung: number): void {
  if (!Number.isInteger(rung) || rung < 0 || rung >= MAX_RUNGS) throw new RangeError(`a rung is 0 to ${MAX_RUNGS - 1}, got ${rung}`)
}

/**
 * The forward rung a control byte asks for, or −1 when it asks for none (any byte without the
 * flag: 0, as strict cascades and version-1 clients send). A rung beyond the cascade's ladder is
 * the hop's to ignore.
 */
export function decodeForwardRung (control: number): number {
  return (control & RUNG_REQUEST_FLAG) !== 0 ? (control >> RUNG_BITS) & RUNG_MASK : -1
}

/** The backward rung a control byte asks for, or −1 (as decodeForwardRung). */
export function decodeBackwardRung (control: number): number {
  return (control & RUNG_REQUEST_FLAG) !== 0 ? control & RUNG_MASK : -1
}

/** The parity (0 or 1) of the slot a rung request is for. */
export function rungRequestParity (control: number): number {
  return (control & TARGET_PARITY_BIT) === 0 ? 0 : 1
}

/**
 * Rounds from the client round a wake was sent in to the first schedule round it lifts, per
 * direction (PROTOCOL.md §12.3). The schedule is pipelined (§12.1): hop i reads a client
 * round n request (i − 1) pipeline steps (a quarter round each) after n·roundMs, before its
 * forward release of round n + 1. Forward the next round; backward the round after the one
 * the exit reads it in, plus one of slack (2 with up to four hops), so that a hop the cell
 * reached late still knows before it schedules the woken round.
 */
export function wakeDelayRounds (direction: 'forward' | 'backward', hops: number): number {
  return direction === 'forward' ? 1 : 2 + backwardLagRounds(hops)
}

/**
 * An upper bound on a LOOP's round trip, in rounds, for a cascade of `hops` hops at the
 * lowest rate: the client's own round, one round per hop each way (pipelined, §12.1, a hop
 * takes a quarter round, but a cell that misses a release waits a round there), a wait for a scheduled
 * slot at every hop backward (and at the client forward), the exit's jitter, and — for the
 * LOOP sent with a CREATE — the CREATE hold. An honest cascade never exceeds it, so a client
 * can raise an alarm beyond it (R8) without false alarms.
 */
export function loopDeadlineRounds (params: ShapingParams, hops: number, withCreate: boolean): number {
  const slowest = params.ratesMilli.length === 0 ? MILLI : params.ratesMilli[0]!
  const slotWait = Math.ceil(MILLI / slowest)
  return 2 + 2 * hops + (hops + 1) * slotWait + params.loopJitterRounds + (withCreate ? params.createHoldRounds * hops : 0)
}
