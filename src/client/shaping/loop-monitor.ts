/**
 * Loop accounting (R8, R10): every LOOP is remembered until its echo returns or its deadline
 * (the cascade's bound plus a margin) passes. Late echoes are counted; a loss, or an echo
 * more than LATE_ALARM_FACTOR deadlines late, raises an alarm (one per circuit); alarms close
 * the client to new streams, and on-time echoes open it again, by fail-closed-gate.ts's rule.
 * Pure: the caller passes its *loop time* (its clock minus its own stalls), so a stall of this
 * process never makes a probe late. Only aggregates leave this object (R19, R21).
 * docs/CLIENT.md "Loop accounting" has the why.
 */
import { DEFAULT_FAIL_CLOSED, FailClosedGate, type FailClosedEpisode, type FailClosedSettings } from './fail-closed-gate.js'

export interface LoopMonitorOptions {
  /** The deadline of a LOOP sent alone, in ms. */
  readonly deadlineMs: number
  /** The deadline of the LOOP sent with a CREATE, in ms. */
  readonly createDeadlineMs: number
  /** Added to both for this process's own timer jitter. */
  readonly marginMs: number
  /** Incidents within the window (`untilRestart`: alarms ever) before failing closed. */
  readonly alarmLimit: number
  /** The rest of the fail-closed rule (default DEFAULT_FAIL_CLOSED). */
  readonly failClosed?: Partial<FailClosedSettings>
  /** On-time echoes in a row needed to re-open (default 8). */
  readonly recoveryEchoes?: number
  /** An alarm was raised about `circuit` (first anomaly on it). */
  readonly onAlarm?: (circuit: number, kind: 'lost' | 'late') => void
  /** The client failed closed (once per episode). */
  readonly onFailClosed?: (episode: FailClosedEpisode) => void
  /** The client re-opened after `closedMs` of loop time failed closed. */
  readonly onRecovered?: (closedMs: number) => void
  /**
   * An echo came back later than its deadline without the margin: cells wait in the cascade
   * longer than its schedule explains, a sign of congestion (rung-budget.ts), not yet an alarm.
   */
  readonly onSlowEcho?: () => void
}

interface InFlight {
  readonly circuit: number
  readonly sentMs: number
  readonly dueMs: number
  /** Past this the probe is lost. */
  readonly lostMs: number
  /** An echo later than this raises an alarm. */
  readonly alarmMs: number
}

/** A probe is lost after this many deadlines, and never before LOSS_MIN_MS. */
export const LOSS_FACTOR = 3
export const LOSS_MIN_MS = 5_000
/** An echo later than this many deadlines raises an alarm. */
export const LATE_ALARM_FACTOR = 2

/** RTT samples kept for the percentiles (the most recent ones). */
const RTT_SAMPLES = 512

export class LoopMonitor {
  private readonly options: LoopMonitorOptions
  private readonly inFlight = new Map<number, InFlight>()
  private readonly alarmed = new Set<number>()
  private readonly rtts: number[] = []
  private rttNext = 0
  private nextSeq = 0
  sent = 0
  returned = 0
  lost = 0
  late = 0
  alarms = 0
  readonly gate: FailClosedGate

  constructor (options: LoopMonitorOptions) {
    this.options = options
    this.gate = new FailClosedGate({
      ...DEFAULT_FAIL_CLOSED,
      ...options.failClosed,
      alarmLimit: options.alarmLimit,
      echoes: options.recoveryEchoes ?? 8,
    })
  }

  /** Whether alarms closed the client to new streams (now). */
  get failedClosed (): boolean { return this.gate.closed }

  /** The deadline (ms after sending) an echo must meet, margin included. */
  deadline (withCreate: boolean): number {
    return (withCreate ? this.options.createDeadlineMs : this.options.deadlineMs) + this.options.marginMs
  }

  /** Number a new probe on `circuit` sent at `nowMs`; seal it with the returned seq. */
  send (circuit: number, nowMs: number, withCreate: boolean): number {
    const seq = this.nextSeq++
    const deadline = this.deadline(withCreate)
    this.inFlight.set(seq, {
      circuit,
      sentMs: nowMs,
      dueMs: nowMs + deadline,
      lostMs: nowMs + Math.max(LOSS_FACTOR * deadline, LOSS_MIN_MS),
      alarmMs: nowMs + LATE_ALARM_FACTOR * deadline,
    })
    this.sent++
    return seq
  }

  /**
   * An echo of probe `seq` arrived on `circuit` at `nowMs` (the caller opened it with its
   * key). Returns what it was: `ok`, `late`, or `unknown` (not in flight on that circuit:
   * a replay or a probe already given up on, counted nowhere).
   */
  echo (circuit: number, seq: number, nowMs: number): 'ok' | 'late' | 'unknown' {
    const probe = this.inFlight.get(seq)
    if (probe === undefined || probe.circuit !== circuit) return 'unknown'
    this.inFlight.delete(seq)
    this.returned++
    this.sample(Math.max(0, nowMs - probe.sentMs))
    // Slow: later than the deadline without this process's margin.
    if (nowMs > probe.dueMs - this.options.marginMs) this.options.onSlowEcho?.()
    // A circuit under alarm says nothing more about the cascade, either way.
    const counts = !this.alarmed.has(circuit)
    if (nowMs <= probe.dueMs) {
      if (counts) this.gate.onTime()
      this.retest(nowMs)
      return 'ok'
    }
    this.late++
    if (nowMs > probe.alarmMs) this.anomaly(circuit, 'late', probe.sentMs, nowMs)
    else if (counts) this.gate.late()
    return 'late'
  }

  /** Give up on probes past their loss timeout at `nowMs` (call once per round). */
  expire (nowMs: number): void {
    for (const [seq, probe] of this.inFlight) {
      if (nowMs <= probe.lostMs) continue
      this.inFlight.delete(seq)
      this.lost++
      this.anomaly(probe.circuit, 'lost', probe.sentMs, nowMs)
    }
    this.retest(nowMs)
  }

  /**
   * `circuit` ended on schedule at `nowMs`: its echoes can no longer arrive. A probe already
   * past its deadline is lost (a circuit that a dropped cell broke ends on schedule like any
   * other, often before the loss timeout); the others count for nothing.
   */
  forgetCircuit (circuit: number, nowMs = -Infinity): void {
    for (const [seq, probe] of this.inFlight) {
      if (probe.circuit !== circuit) continue
      this.inFlight.delete(seq)
      if (nowMs > probe.dueMs) {
        this.lost++
        this.anomaly(circuit, 'lost', probe.sentMs, nowMs)
      }
    }
    this.alarmed.delete(circuit)
  }

  forgetAll (): void {
    this.inFlight.clear()
    this.alarmed.clear()
  }

  get pending (): number { return this.inFlight.size }

  /** The RTT below which a fraction `q` of the recent echoes came back (ms), NaN before any. */
  rttQuantile (q: number): number {
    if (this.rtts.length === 0) return Number.NaN
    const sorted = [...this.rtts].sort((a, b) => a - b)
    return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
  }

  private sample (rtt: number): void {
    if (this.rtts.length < RTT_SAMPLES) this.rtts.push(rtt)
    else this.rtts[this.rttNext] = rtt
    this.rttNext = (this.rttNext + 1) % RTT_SAMPLES
  }

  private anomaly (circuit: number, kind: 'lost' | 'late', sentMs: number, nowMs: number): void {
    if (this.alarmed.has(circuit)) return
    this.alarmed.add(circuit)
    this.alarms++
    this.options.onAlarm?.(circuit, kind)
    const episode = this.gate.alarm(sentMs, nowMs)
    if (episode !== undefined) this.options.onFailClosed?.(episode)
  }

  /** Failed closed: re-open if the gate's rule allows it now. */
  private retest (nowMs: number): void {
    if (!this.gate.closed) return
    const closedMs = this.gate.retest(nowMs, this.overdue(nowMs))
    if (closedMs !== undefined) this.options.onRecovered?.(closedMs)
  }

  /** Whether a probe of a circuit not under alarm is past its deadline (it may yet be lost). */
  private overdue (nowMs: number): boolean {
    for (const probe of this.inFlight.values()) {
      if (nowMs > probe.dueMs && !this.alarmed.has(probe.circuit)) return true
    }
    return false
  }
}
