/**
 * The loop RTT over time for the client's status page: the shaper's recent-loop percentiles
 * (p50, p90, p99, coarse: whole rounds), read every `everyMs` into a ring of at most
 * `capacity` samples. Bounded on purpose: an hour of history at the defaults, whatever the
 * uptime, and only the figures /metrics already shows (R19), kept in this process only.
 *
 *   const history = new RttHistory()
 *   const sampler = sampleRtt(history, () => client.shaping.rttMs)
 *   history.samples()   // oldest first
 *   sampler.stop()
 */

export interface RttReading {
  readonly p50: number
  readonly p90: number
  readonly p99: number
}

export interface RttSample extends RttReading {
  /** Wall-clock time of the reading (ms since the epoch). */
  readonly atMs: number
}

/** One reading every 10 s, 360 of them: the last hour. */
export const RTT_SAMPLE_EVERY_MS = 10_000
export const RTT_HISTORY_CAPACITY = 360

export class RttHistory {
  readonly capacity: number
  private readonly ring: RttSample[] = []
  private next = 0

  constructor (capacity = RTT_HISTORY_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('RttHistory: capacity must be a positive integer')
    this.capacity = capacity
  }

  /** Keep `sample`, dropping the oldest when full. */
  add (sample: RttSample): void {
    if (this.ring.length < this.capacity) this.ring.push(sample)
    else this.ring[this.next] = sample
    this.next = (this.next + 1) % this.capacity
  }

  /** The samples kept, oldest first. */
  samples (): RttSample[] {
    return this.ring.length < this.capacity ? [...this.ring] : [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)]
  }
}

export interface RttSampler {
  stop (): void
}

/**
 * Read `read()` now and every `everyMs` into `history`. A reading without any loop back yet
 * (NaN, or undefined: not shaped) is skipped rather than stored: the plot shows a gap in
 * time instead. Until the first reading is stored it asks every `firstEveryMs`, so a page
 * opened just after start has its first point within a second or so of the first echo.
 * The timers do not keep the process alive.
 */
export function sampleRtt (history: RttHistory, read: () => RttReading | undefined, everyMs = RTT_SAMPLE_EVERY_MS, now: () => number = Date.now, firstEveryMs = 1_000): RttSampler {
  let timer: NodeJS.Timeout | undefined
  let stopped = false
  let stored = false
  /** Read once; the delay until the next reading. */
  const take = (): number => {
    const r = read()
    if (r !== undefined && Number.isFinite(r.p50)) {
      history.add({ atMs: now(), p50: r.p50, p90: finiteOr(r.p90, r.p50), p99: finiteOr(r.p99, r.p50) })
      stored = true
    }
    return stored ? everyMs : firstEveryMs
  }
  const schedule = (ms: number): void => {
    if (stopped) return
    timer = setTimeout(() => schedule(take()), ms)
    timer.unref()
  }
  schedule(take())
  return { stop: () => { stopped = true; clearTimeout(timer) } }
}

function finiteOr (value: number, fallback: number): number {
  return Number.isFinite(value) ? value : fallback
}
