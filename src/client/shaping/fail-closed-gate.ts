/**
 * When loop alarms close a shaped client to new streams, and when it opens again (issues #14,
 * #17; docs/CLIENT.md "Loop accounting" has the why). Pure: every time is the client's loop
 * time (its clock minus its own stalls), passed in by loop-monitor.ts, which also says which
 * echoes and alarms count (those of circuits not already under an alarm).
 *
 * `recover` (the default): alarms are grouped into incidents. An alarm about a probe sent
 * before the current incident was noticed belongs to it: that probe was already in the cascade
 * when the client first saw something wrong, so one stall or one silence of a link, which
 * holds every circuit's probes at once, is one incident however many circuits had a probe out.
 * `alarmLimit` incidents within `alarmWindowMs` close the client. It re-opens once, since the
 * last alarm, `hold` has passed, the last `echoes` echoes were all on time, and no probe of a
 * circuit not under alarm is overdue; the hold doubles with each episode (up to `maxHoldMs`)
 * and starts again from `holdMs` once the client has stayed open `maxHoldMs`.
 *
 * `untilRestart`: the rule before issue #14 — every alarm counts, forever, and the client stays
 * closed until it is restarted.
 */

export type FailClosedMode = 'recover' | 'untilRestart'

/** What an operator sets (config `failClosed`, `alarmWindowMs`, `recoveryHoldMs`, `recoveryHoldMaxMs`). */
export interface FailClosedSettings {
  readonly mode: FailClosedMode
  readonly alarmWindowMs: number
  readonly holdMs: number
  readonly maxHoldMs: number
}

export const DEFAULT_FAIL_CLOSED: FailClosedSettings = {
  mode: 'recover',
  alarmWindowMs: 600_000,
  holdMs: 30_000,
  maxHoldMs: 1_800_000,
}

export interface FailClosedRule extends FailClosedSettings {
  /** Incidents (`recover`) or alarms (`untilRestart`) within the window that close the client. */
  readonly alarmLimit: number
  /** On-time echoes in a row needed to re-open (the shaper asks two per circuit it keeps). */
  readonly echoes: number
}

/** One fail-closed episode, as the log and status tell it. */
export interface FailClosedEpisode {
  /** 1 for the first since the process started. */
  readonly episode: number
  /** Incidents (`recover`) or alarms (`untilRestart`) in the window that closed it. */
  readonly counted: number
  /** Quiet time needed after the last alarm before re-opening (ms); Infinity: until restart. */
  readonly holdMs: number
}

export class FailClosedGate {
  closed = false
  /** Fail-closed episodes since start. */
  episodes = 0
  recoveries = 0
  /** Incidents since start (`untilRestart`: alarms). */
  incidents = 0
  private readonly rule: FailClosedRule
  /** When the incidents still in the window were noticed (loop time, oldest first). */
  private readonly recent: number[] = []
  /** When the current incident's first alarm was raised. */
  private incidentNoticedMs = -Infinity
  private lastAlarmMs = -Infinity
  private onTimeStreak = 0
  private closedAtMs = 0
  private reopenedAtMs = -Infinity
  /** Episodes in a row (the backoff exponent). */
  private backoff = 0
  private holdNowMs = 0

  constructor (rule: FailClosedRule) {
    this.rule = rule
  }

  /** The hold of the current episode (ms; 0 while open, Infinity until restart). */
  get holdMs (): number { return this.closed ? this.holdNowMs : 0 }

  /**
   * An alarm about a probe sent at `sentMs`, raised at `nowMs`. Returns the episode when it
   * closed the client, else undefined.
   */
  alarm (sentMs: number, nowMs: number): FailClosedEpisode | undefined {
    this.lastAlarmMs = Math.max(this.lastAlarmMs, nowMs)
    this.onTimeStreak = 0
    if (this.rule.mode === 'recover') {
      if (sentMs <= this.incidentNoticedMs) return undefined
      this.incidentNoticedMs = nowMs
    }
    this.incidents++
    this.recent.push(nowMs)
    this.dropOld(nowMs)
    if (this.closed || this.recent.length < this.rule.alarmLimit) return undefined
    return this.close(nowMs)
  }

  /** An echo came back on time (on a circuit not under alarm). */
  onTime (): void { this.onTimeStreak++ }

  /** An echo came back late, below the alarm bound: not on time, so the streak starts again. */
  late (): void { this.onTimeStreak = 0 }

  /**
   * Whether the client re-opens at `nowMs`; `overdue`: a probe of a circuit not under alarm is
   * past its deadline (it may yet be lost). Returns how long it was closed (ms) when it re-opens.
   */
  retest (nowMs: number, overdue: boolean): number | undefined {
    if (!this.closed || this.rule.mode === 'untilRestart' || overdue) return undefined
    if (nowMs - this.lastAlarmMs < this.holdNowMs || this.onTimeStreak < this.rule.echoes) return undefined
    this.closed = false
    this.recoveries++
    this.reopenedAtMs = nowMs
    return nowMs - this.closedAtMs
  }

  private close (nowMs: number): FailClosedEpisode {
    this.closed = true
    this.episodes++
    this.closedAtMs = nowMs
    if (this.rule.mode === 'untilRestart') {
      this.holdNowMs = Infinity
    } else {
      // Open for a whole cap since the last recovery: the next episode is a first one again.
      if (nowMs - this.reopenedAtMs >= this.rule.maxHoldMs) this.backoff = 0
      this.holdNowMs = Math.min(this.rule.holdMs * 2 ** this.backoff, this.rule.maxHoldMs)
      this.backoff++
    }
    return { episode: this.episodes, counted: this.recent.length, holdMs: this.holdNowMs }
  }

  private dropOld (nowMs: number): void {
    if (this.rule.mode === 'untilRestart') return
    while (this.recent.length > 0 && this.recent[0]! <= nowMs - this.rule.alarmWindowMs) this.recent.shift()
  }
}
