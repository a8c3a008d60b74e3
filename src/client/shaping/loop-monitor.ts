/**
 * Loop accounting (R8, R10): every LOOP is remembered until its echo returns or its deadline
 * (the cascade's bound plus a margin) passes. Late echoes are counted; a loss, or an echo
 * more than LATE_ALARM_FACTOR deadlines late, raises an alarm (one per circuit); at
 * `alarmLimit` alarms the client fails closed. Pure: the caller passes its *loop time* (its
 * clock minus its own stalls), so a stall of this process never makes a probe late. Only
 * aggregates leave this object (R19, R21). docs/CLIENT.md "Loop accounting" has the why.
 */

export interface LoopMonitorOptions {
  /** The deadline of a LOOP sent alone, in ms. */
  readonly deadlineMs: number
  /** The deadline of the LOOP sent with a CREATE, in ms. */
  readonly createDeadlineMs: number
  /** Added to both for this process's own timer jitter. */
  readonly marginMs: number
  /** Alarms before failing closed. */
  readonly alarmLimit: number
  /** An alarm was raised about `circuit` (first anomaly on it). */
  readonly onAlarm?: (circuit: number, kind: 'lost' | 'late') => void
  /** The alarm limit was reached (called once). */
  readonly onFailClosed?: () => void
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
  failedClosed = false

  constructor (options: LoopMonitorOptions) {
    this.options = options
  }

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
    if (nowMs <= probe.dueMs) return 'ok'
    this.late++
    if (nowMs > probe.alarmMs) this.anomaly(circuit, 'late')
    return 'late'
  }

  /** Give up on probes past their loss timeout at `nowMs` (call once per round). */
  expire (nowMs: number): void {
    for (const [seq, probe] of this.inFlight) {
      if (nowMs <= probe.lostMs) continue
      this.inFlight.delete(seq)
      this.lost++
      this.anomaly(probe.circuit, 'lost')
    }
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
        this.anomaly(circuit, 'lost')
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

  private anomaly (circuit: number, kind: 'lost' | 'late'): void {
    if (this.alarmed.has(circuit)) return
    this.alarmed.add(circuit)
    this.alarms++
    this.options.onAlarm?.(circuit, kind)
    if (!this.failedClosed && this.alarms >= this.options.alarmLimit) {
      this.failedClosed = true
      this.options.onFailClosed?.()
    }
  }
}
