/**
 * A tiny Prometheus registry: counters, gauges and fixed-bucket histograms, rendered in the
 * text exposition format 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/).
 *
 *   const registry = new MetricsRegistry()
 *   registry.counterFrom('mixgate_cells_in_total', 'Cells received.', () => stats.cellsIn)
 *   const refused = registry.counter('mixgate_creates_refused_total', 'CREATEs refused.',
 *     { reason: ['auth', 'replay'] })
 *   refused.inc(1, { reason: 'replay' })
 *   registry.render()
 *
 * Values are either stored here (`inc`, `set`, `observe`) or read from a callback at scrape
 * time (`from`, `counterFrom`, `gaugeFrom`), so that a node's existing stats objects are
 * exported without changing them.
 *
 * Metrics must not become the linking database (DESIGN-REVIEW R19), so the registry only
 * allows what cannot carry per-circuit or per-peer data:
 *   - every label is declared with the fixed, small set of values it may take, and every
 *     combination of them is rendered from the first scrape on: no series appears because
 *     of something that happened, and nothing outside the declared set can be recorded;
 *   - label names that suggest circuit-level or address data are refused outright;
 *   - histogram buckets are fixed when the histogram is defined (callers choose coarse ones);
 *   - no timestamps are written.
 */
import { MetricsError } from './errors.js'

export type MetricType = 'counter' | 'gauge' | 'histogram'

/** Label name → the only values it may take, in rendering order. */
export type LabelSpec = Readonly<Record<string, readonly string[]>>

/** One value per declared label. */
export type LabelsOf<S extends LabelSpec> = { readonly [K in keyof S]: S[K][number] }

/** A value read at scrape time; `true`/`false` render as 1/0. */
export type Reader = () => number | boolean

/** The media type of `render()`'s output. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

const METRIC_NAME = /^mixgate_[a-z0-9_]*[a-z0-9]$/
const LABEL_NAME = /^[a-z][a-z0-9_]*$/
// Words of label names that would hold circuit-, stream- or peer-level data (R19). Values
// come from a fixed set anyway; this keeps such a label from being proposed in the first place.
const FORBIDDEN_LABEL_WORDS = new Set([
  'circuit', 'stream', 'id', 'addr', 'address', 'host', 'hostname', 'ip', 'peer', 'port',
  'dest', 'destination', 'user', 'username', 'client', 'remote', 'conn', 'connection',
])
const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'] as const
const MAX_VALUES_PER_LABEL = 16
const MAX_SERIES_PER_METRIC = 64
const MAX_BUCKETS = 16

/** A number as Prometheus writes it: `+Inf`, `-Inf`, `NaN`, otherwise shortest round-trip decimal. */
export function formatValue (value: number): string {
  if (Number.isNaN(value)) return 'NaN'
  if (value === Infinity) return '+Inf'
  if (value === -Infinity) return '-Inf'
  if (Object.is(value, -0)) return '-0' // as Go's formatter writes it; String(-0) is '0'
  return String(value)
}

/** A label value inside double quotes: backslash, double quote and line feed escaped. */
export function escapeLabelValue (value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

/** HELP text: backslash and line feed escaped (quotes are literal there). */
export function escapeHelp (help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
}

function readNumber (read: Reader): number {
  const value = read()
  return typeof value === 'boolean' ? (value ? 1 : 0) : value
}

/** Every label combination of `spec`, in declaration order, each as its rendered pairs. */
function combinations (spec: LabelSpec): Array<{ readonly key: string, readonly values: Record<string, string> }> {
  let out: Array<{ key: string, values: Record<string, string> }> = [{ key: '', values: {} }]
  for (const [name, allowed] of Object.entries(spec)) {
    const next: typeof out = []
    for (const partial of out) {
      for (const value of allowed) {
        const pair = `${name}="${escapeLabelValue(value)}"`
        next.push({ key: partial.key === '' ? pair : `${partial.key},${pair}`, values: { ...partial.values, [name]: value } })
      }
    }
    out = next
  }
  return out
}

/** What every metric family shares: its name, help, labels and series keys. */
abstract class Family<S extends LabelSpec> {
  readonly name: string
  readonly help: string
  abstract readonly type: MetricType
  protected readonly spec: S
  /** Rendered label pairs of every series, in rendering order. */
  protected readonly keys: readonly string[]

  constructor (name: string, help: string, spec: S) {
    this.name = name
    this.help = help
    this.spec = spec
    this.keys = combinations(spec).map((c) => c.key)
  }

  /** The rendered label pairs for `labels`, checked against the declared sets. */
  protected keyOf (labels: LabelsOf<S> | undefined): string {
    const names = Object.keys(this.spec)
    const given = labels === undefined ? [] : Object.keys(labels)
    if (given.length !== names.length || given.some((name) => !(name in this.spec))) {
      throw new MetricsError('METRICS_BAD_LABELS', `${this.name} takes exactly the labels [${names.join(', ')}]`)
    }
    const pairs: string[] = []
    for (const name of names) {
      const value = (labels as Record<string, string>)[name]!
      if (!this.spec[name]!.includes(value)) {
        throw new MetricsError('METRICS_BAD_LABELS', `${this.name}: label ${name} must be one of its declared values`)
      }
      pairs.push(`${name}="${escapeLabelValue(value)}"`)
    }
    return pairs.join(',')
  }

  protected header (): string {
    return `# HELP ${this.name} ${escapeHelp(this.help)}\n# TYPE ${this.name} ${this.type}\n`
  }

  /** The family's lines, HELP and TYPE first. */
  abstract render (): string
}

/** A counter or gauge: one number per label combination, stored or read from a callback. */
abstract class ScalarFamily<S extends LabelSpec> extends Family<S> {
  protected readonly stored = new Map<string, number>()
  private readonly readers = new Map<string, Reader>()

  constructor (name: string, help: string, spec: S) {
    super(name, help, spec)
    for (const key of this.keys) this.stored.set(key, 0)
  }

  /** Read this series from `read` at every scrape instead of storing it. */
  from (read: Reader, labels?: LabelsOf<S>): this {
    const key = this.keyOf(labels)
    if (this.readers.has(key)) throw new MetricsError('METRICS_DUPLICATE', `${this.name}: this series already has a reader`)
    this.readers.set(key, read)
    return this
  }

  /** The current value of one series, read now (tests, in-process readers). */
  value (labels?: LabelsOf<S>): number {
    const key = this.keyOf(labels)
    const read = this.readers.get(key)
    return read === undefined ? this.stored.get(key)! : readNumber(read)
  }

  protected storedKey (labels: LabelsOf<S> | undefined): string {
    const key = this.keyOf(labels)
    if (this.readers.has(key)) throw new MetricsError('METRICS_BOUND', `${this.name}: this series is read from a callback`)
    return key
  }

  render (): string {
    let out = this.header()
    for (const key of this.keys) {
      const read = this.readers.get(key)
      const value = read === undefined ? this.stored.get(key)! : readNumber(read)
      out += `${this.name}${key === '' ? '' : `{${key}}`} ${formatValue(value)}\n`
    }
    return out
  }
}

export class Counter<S extends LabelSpec = Record<never, never>> extends ScalarFamily<S> {
  readonly type = 'counter'

  /** Add `by` (default 1, never negative: counters only go up). */
  inc (by = 1, labels?: LabelsOf<S>): void {
    if (!(by >= 0) || !Number.isFinite(by)) throw new MetricsError('METRICS_BAD_VALUE', `${this.name}: a counter only goes up`)
    const key = this.storedKey(labels)
    this.stored.set(key, this.stored.get(key)! + by)
  }
}

export class Gauge<S extends LabelSpec = Record<never, never>> extends ScalarFamily<S> {
  readonly type = 'gauge'

  set (value: number, labels?: LabelsOf<S>): void {
    this.stored.set(this.storedKey(labels), value)
  }

  inc (by = 1, labels?: LabelsOf<S>): void {
    const key = this.storedKey(labels)
    this.stored.set(key, this.stored.get(key)! + by)
  }

  dec (by = 1, labels?: LabelsOf<S>): void {
    this.inc(-by, labels)
  }
}

interface HistogramSeries {
  /** Observations per bucket, not cumulative; the last slot is above the largest bound. */
  readonly counts: number[]
  sum: number
  count: number
}

export class Histogram<S extends LabelSpec = Record<never, never>> extends Family<S> {
  readonly type = 'histogram'
  /** Upper bounds, strictly increasing; `+Inf` is implied. */
  readonly buckets: readonly number[]
  private readonly series = new Map<string, HistogramSeries>()

  constructor (name: string, help: string, buckets: readonly number[], spec: S) {
    super(name, help, spec)
    if (buckets.length === 0 || buckets.length > MAX_BUCKETS ||
        buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= buckets[i - 1]!))) {
      throw new MetricsError('METRICS_BAD_BUCKETS', `${name}: 1 to ${MAX_BUCKETS} finite, strictly increasing bucket bounds`)
    }
    this.buckets = [...buckets]
    for (const key of this.keys) this.series.set(key, { counts: new Array<number>(buckets.length + 1).fill(0), sum: 0, count: 0 })
  }

  observe (value: number, labels?: LabelsOf<S>): void {
    if (Number.isNaN(value)) throw new MetricsError('METRICS_BAD_VALUE', `${this.name}: cannot observe NaN`)
    const series = this.series.get(this.keyOf(labels))!
    let i = 0
    while (i < this.buckets.length && value > this.buckets[i]!) i++
    series.counts[i]!++
    series.sum += value
    series.count++
  }

  /** The sum of every value observed in one series. */
  sum (labels?: LabelsOf<S>): number {
    return this.series.get(this.keyOf(labels))!.sum
  }

  /** How many values one series has observed. */
  count (labels?: LabelsOf<S>): number {
    return this.series.get(this.keyOf(labels))!.count
  }

  render (): string {
    let out = this.header()
    for (const key of this.keys) {
      const series = this.series.get(key)!
      const prefix = key === '' ? '' : `${key},`
      let cumulative = 0
      for (let i = 0; i <= this.buckets.length; i++) {
        cumulative += series.counts[i]!
        const le = i < this.buckets.length ? formatValue(this.buckets[i]!) : '+Inf'
        out += `${this.name}_bucket{${prefix}le="${le}"} ${cumulative}\n`
      }
      const labels = key === '' ? '' : `{${key}}`
      out += `${this.name}_sum${labels} ${formatValue(series.sum)}\n`
      out += `${this.name}_count${labels} ${series.count}\n`
    }
    return out
  }
}

/** The set of metrics one node exposes, in registration order. */
export class MetricsRegistry {
  private readonly families: Array<Family<LabelSpec>> = []
  /** Every sample name in use, histogram suffixes included, to refuse collisions. */
  private readonly names = new Set<string>()

  counter<const S extends LabelSpec = Record<never, never>> (name: string, help: string, labels?: S): Counter<S> {
    if (!name.endsWith('_total')) throw new MetricsError('METRICS_BAD_NAME', `counter ${name} must end in _total`)
    return this.add(new Counter<S>(name, help, this.checkLabels(name, help, labels)), [name])
  }

  gauge<const S extends LabelSpec = Record<never, never>> (name: string, help: string, labels?: S): Gauge<S> {
    return this.add(new Gauge<S>(name, help, this.checkLabels(name, help, labels)), [name])
  }

  histogram<const S extends LabelSpec = Record<never, never>> (name: string, help: string, buckets: readonly number[], labels?: S): Histogram<S> {
    const spec = this.checkLabels(name, help, labels)
    if ('le' in spec) throw new MetricsError('METRICS_BAD_NAME', `${name}: le is the bucket label`)
    return this.add(new Histogram<S>(name, help, buckets, spec), HISTOGRAM_SUFFIXES.map((suffix) => name + suffix))
  }

  /** An unlabelled counter read from `read` at scrape time. */
  counterFrom (name: string, help: string, read: Reader): Counter {
    return this.counter(name, help).from(read)
  }

  /** An unlabelled gauge read from `read` at scrape time. */
  gaugeFrom (name: string, help: string, read: Reader): Gauge {
    return this.gauge(name, help).from(read)
  }

  /** Every family in the text exposition format 0.0.4; callbacks are read now. */
  render (): string {
    let out = ''
    for (const family of this.families) out += family.render()
    return out
  }

  private add<F extends Family<LabelSpec>> (family: F, sampleNames: readonly string[]): F {
    for (const sampleName of [family.name, ...sampleNames]) {
      if (this.names.has(sampleName)) throw new MetricsError('METRICS_DUPLICATE', `metric ${sampleName} is already registered`)
    }
    for (const sampleName of [family.name, ...sampleNames]) this.names.add(sampleName)
    this.families.push(family)
    return family
  }

  private checkLabels<S extends LabelSpec> (name: string, help: string, labels: S | undefined): S {
    if (!METRIC_NAME.test(name)) throw new MetricsError('METRICS_BAD_NAME', `metric names are mixgate_ followed by [a-z0-9_]: ${name}`)
    if (help.trim() === '') throw new MetricsError('METRICS_BAD_NAME', `${name} needs help text`)
    const spec = labels ?? ({} as S)
    let series = 1
    for (const [label, values] of Object.entries(spec)) {
      if (!LABEL_NAME.test(label) || label.split('_').some((word) => FORBIDDEN_LABEL_WORDS.has(word))) {
        throw new MetricsError('METRICS_BAD_NAME', `${name}: label name ${label} is not allowed`)
      }
      if (values.length === 0 || values.length > MAX_VALUES_PER_LABEL || new Set(values).size !== values.length) {
        throw new MetricsError('METRICS_BAD_LABELS', `${name}: label ${label} needs 1 to ${MAX_VALUES_PER_LABEL} distinct values`)
      }
      series *= values.length
    }
    if (series > MAX_SERIES_PER_METRIC) {
      throw new MetricsError('METRICS_BAD_LABELS', `${name}: at most ${MAX_SERIES_PER_METRIC} label combinations`)
    }
    return spec
  }
}
