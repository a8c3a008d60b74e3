/**
 * Loop accounting (issue #5 "Loops and accountability", R8, R10): every LOOP the client sends
 * is remembered until its echo comes back or its deadline passes. The deadline is the
 * cascade's deterministic bound (`loopDeadlineRounds(...) · roundMs`, larger for the LOOP
 * that rides with a CREATE, which the hops may hold) plus a small margin for the timers of
 * this process; an honest cascade never misses it.
 *
 * A probe back after its deadline is late, and counted; one not back within the loss timeout
 * (LOSS_FACTOR deadlines, at least LOSS_MIN_MS) is lost. A loss raises an alarm, and so does a
 * probe later than LATE_ALARM_FACTOR deadlines: a dropped cell, which breaks its circuit's
 * layer counters, always alarms; a delay (R8's n−1 holds a target's cells for some rounds)
 * alarms once it passes twice the cascade's bound with the margin, and shows below that in
 * the late count and the RTT percentiles.
 *
 * Time here is the caller's *loop time*: its clock minus the time its own process stalled
 * (rounds its round clock had to skip). A probe that waited out a stall of this process —
 * GC, a busy event loop, every node of `mixgate up` sharing one — is not late for it: the
 * cascade did not delay it, we did. Measured in a one-process elastic cascade pushed past
 * one core (three top-rung downloads at once, rounds skipped for seconds), every echo's
 * lateness was below the stall it waited out, so the alarm bound can stay close to the
 * cascade's deterministic one and still never fire on an honest cascade.
 * The first anomaly on a circuit raises an alarm (later ones on the same circuit are
 * counted, not alarmed again, so one broken circuit is one alarm); after `alarmLimit` alarms
 * the client fails closed (the owner stops taking new streams, cover goes on). Probes of a
 * circuit that ended on schedule, or whose entry link went away, are forgotten, not lost.
 *
 * Pure: the caller passes the (loop) time (tests drive it with a fake clock). What it keeps is
 * aggregate (counts, and a bounded sample of RTTs for coarse percentiles): no times of
 * individual probes leave this object (R19, R21).
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
