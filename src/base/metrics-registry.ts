/**
 * One node's metrics: prom-client's `Registry`, `Counter`, `Gauge` and `Histogram` (which
 * write the text exposition format 0.0.4 and keep the values), declared through the rules
 * mixgate adds on top.
 *
 *   const registry = new MetricsRegistry({ defaultMetrics: true })   // + process_*, nodejs_*
 *   registry.counterFrom('mixgate_cells_in_total', 'Cells received.', () => stats.cellsIn)
 *   const refused = registry.counter('mixgate_creates_refused_total', 'CREATEs refused.',
 *     { reason: ['auth', 'replay'] })
 *   refused.inc(1, { reason: 'replay' })
 *   await registry.render()
 *
 * Each node has its own prom-client `Registry`, never the global one: `mixgate up` runs
 * several nodes in one process. A family's values are either stored in prom-client (`inc`,
 * `set`, `observe`) or read from callbacks when scraped (`from`, `counterFrom`, `gaugeFrom`),
 * so that a node's existing stats objects are exported without changing them.
 *
 * Metrics must not become the linking database (DESIGN-REVIEW R19), so mixgate's own families
 * (`mixgate_*`) may only carry what cannot hold per-circuit or per-peer data:
 *   - every label is declared with the fixed, small set of values it may take, and every
 *     combination of them is rendered from the first scrape on: no series appears because
 *     of something that happened, and nothing outside the declared set can be recorded;
 *   - label names that suggest circuit-level or address data are refused outright;
 *   - histogram buckets are fixed when the histogram is defined (callers choose coarse ones);
 *   - no timestamps are written.
 * prom-client's default metrics (`process_*`, `nodejs_*`, docs/METRICS.md) describe the
 * process only.
 */
import { Counter as PromCounter, Gauge as PromGauge, Histogram as PromHistogram, Registry, collectDefaultMetrics } from 'prom-client'
import { MetricsError } from './metrics-errors.js'

export type MetricType = 'counter' | 'gauge' | 'histogram'

/** Label name → the only values it may take, in rendering order. */
export type LabelSpec = Readonly<Record<string, readonly string[]>>

/** One value per declared label. */
export type LabelsOf<S extends LabelSpec> = { readonly [K in keyof S]: S[K][number] }

/** A value read at scrape time; `true`/`false` render as 1/0. */
export type Reader = () => number | boolean

/** The media type of `render()`'s output (text format 0.0.4). */
export const PROMETHEUS_CONTENT_TYPE: string = Registry.PROMETHEUS_CONTENT_TYPE

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

type PromLabels = Record<string, string>

function readNumber (read: Reader): number {
  const value = read()
  return typeof value === 'boolean' ? (value ? 1 : 0) : value
}

/** Every label combination of `spec`, in declaration order. */
function combinations (spec: LabelSpec): PromLabels[] {
  let out: PromLabels[] = [{}]
  for (const [name, allowed] of Object.entries(spec)) {
    out = out.flatMap((partial) => allowed.map((value) => ({ ...partial, [name]: value })))
  }
  return out
}

/** What every family shares: its name, its declared labels and their combinations. */
abstract class Family<S extends LabelSpec> {
  readonly name: string
  protected readonly spec: S
  /** Every series' labels, in rendering order. */
  protected readonly series: readonly PromLabels[]

  constructor (name: string, spec: S) {
    this.name = name
    this.spec = spec
    this.series = combinations(spec)
  }

  /** `labels` as prom-client takes them, checked against the declared sets. */
  protected checked (labels: LabelsOf<S> | undefined): PromLabels {
    const names = Object.keys(this.spec)
    const given = labels === undefined ? [] : Object.keys(labels)
    if (given.length !== names.length || given.some((name) => !(name in this.spec))) {
      throw new MetricsError('METRICS_BAD_LABELS', `${this.name} takes exactly the labels [${names.join(', ')}]`)
    }
    for (const name of names) {
      if (!this.spec[name]!.includes((labels as PromLabels)[name]!)) {
        throw new MetricsError('METRICS_BAD_LABELS', `${this.name}: label ${name} must be one of its declared values`)
      }
    }
    return (labels ?? {}) as PromLabels
  }
}

/**
 * A counter or gauge. Its series are all stored or all read from callbacks: the first `from`
 * or the first update decides, and mixing the two is refused (`METRICS_BOUND`).
 */
abstract class ScalarFamily<S extends LabelSpec> extends Family<S> {
  private readonly readers = new Map<string, { readonly labels: PromLabels, readonly read: Reader }>()
  private stored = false

  /** Read this series from `read` at every scrape instead of storing it. */
  from (read: Reader, labels?: LabelsOf<S>): this {
    const checked = this.checked(labels)
    const key = JSON.stringify(checked)
    if (this.stored) throw new MetricsError('METRICS_BOUND', `${this.name}: this family stores its values`)
    if (this.readers.has(key)) throw new MetricsError('METRICS_DUPLICATE', `${this.name}: this series already has a reader`)
    this.readers.set(key, { labels: checked, read })
    return this
  }

  protected storedLabels (labels: LabelsOf<S> | undefined): PromLabels {
    const checked = this.checked(labels)
    if (this.readers.size > 0) throw new MetricsError('METRICS_BOUND', `${this.name}: this family is read from callbacks`)
    this.stored = true
    return checked
  }

  /** The value of every read series, in rendering order (series without a reader: 0). */
  protected readAll (): Array<{ labels: PromLabels, value: number }> | undefined {
    if (this.readers.size === 0) return undefined
    return this.series.map((labels) => {
      const reader = this.readers.get(JSON.stringify(labels))
      return { labels, value: reader === undefined ? 0 : readNumber(reader.read) }
    })
  }
}

export class Counter<S extends LabelSpec = Record<never, never>> extends ScalarFamily<S> {
  readonly prom: PromCounter<string>

  constructor (registry: Registry, name: string, help: string, spec: S) {
    super(name, spec)
    const family = this
    this.prom = new PromCounter({
      name, help, labelNames: Object.keys(spec), registers: [registry],
      collect () {
        const values = family.readAll()
        if (values === undefined) return
        // A counter cannot be set, only raised: start every read series from 0 again.
        this.reset()
        for (const { labels, value } of values) this.inc(labels, value)
      },
    })
    for (const labels of this.series) this.prom.inc(labels, 0)
  }

  /** Add `by` (default 1, never negative: counters only go up). */
  inc (by = 1, labels?: LabelsOf<S>): void {
    if (!(by >= 0) || !Number.isFinite(by)) throw new MetricsError('METRICS_BAD_VALUE', `${this.name}: a counter only goes up`)
    this.prom.inc(this.storedLabels(labels), by)
  }

  /** `inc` for one series, its labels checked once (for calls every round). */
  child (labels?: LabelsOf<S>): (by: number) => void {
    const child = this.prom.labels(this.storedLabels(labels))
    return (by) => {
      if (!(by >= 0) || !Number.isFinite(by)) throw new MetricsError('METRICS_BAD_VALUE', `${this.name}: a counter only goes up`)
      child.inc(by)
    }
  }
}

export class Gauge<S extends LabelSpec = Record<never, never>> extends ScalarFamily<S> {
  readonly prom: PromGauge<string>

  constructor (registry: Registry, name: string, help: string, spec: S) {
    super(name, spec)
    const family = this
    this.prom = new PromGauge({
      name, help, labelNames: Object.keys(spec), registers: [registry],
      collect () {
        for (const { labels, value } of family.readAll() ?? []) this.set(labels, value)
      },
    })
    for (const labels of this.series) this.prom.set(labels, 0)
  }

  set (value: number, labels?: LabelsOf<S>): void {
    this.prom.set(this.storedLabels(labels), value)
  }

  inc (by = 1, labels?: LabelsOf<S>): void {
    this.prom.inc(this.storedLabels(labels), by)
  }

  dec (by = 1, labels?: LabelsOf<S>): void {
    this.prom.dec(this.storedLabels(labels), by)
  }
}

export class Histogram<S extends LabelSpec = Record<never, never>> extends Family<S> {
  readonly prom: PromHistogram<string>
  /** Upper bounds, strictly increasing; `+Inf` is implied. */
  readonly buckets: readonly number[]

  constructor (registry: Registry, name: string, help: string, buckets: readonly number[], spec: S) {
    super(name, spec)
    if (buckets.length === 0 || buckets.length > MAX_BUCKETS ||
        buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= buckets[i - 1]!))) {
      throw new MetricsError('METRICS_BAD_BUCKETS', `${name}: 1 to ${MAX_BUCKETS} finite, strictly increasing bucket bounds`)
    }
    this.buckets = [...buckets]
    this.prom = new PromHistogram({ name, help, labelNames: Object.keys(spec), buckets: [...buckets], registers: [registry] })
    for (const labels of this.series) this.prom.zero(labels)
  }

  observe (value: number, labels?: LabelsOf<S>): void {
    if (Number.isNaN(value)) throw new MetricsError('METRICS_BAD_VALUE', `${this.name}: cannot observe NaN`)
    this.prom.observe(this.checked(labels), value)
  }

  /** `observe` for one series, its labels checked once (for calls every round). */
  child (labels?: LabelsOf<S>): (value: number) => void {
    const child = this.prom.labels(this.checked(labels))
    return (value) => {
      if (Number.isNaN(value)) throw new MetricsError('METRICS_BAD_VALUE', `${this.name}: cannot observe NaN`)
      child.observe(value)
    }
  }
}

export interface MetricsRegistryOptions {
  /** Add prom-client's default process metrics (`process_*`, `nodejs_*`): a node does. */
  readonly defaultMetrics?: boolean
}

/** The set of metrics one node exposes, in registration order. */
export class MetricsRegistry {
  /** This node's own prom-client registry. */
  readonly prom = new Registry()
  /** Every sample name in use, histogram suffixes included, to refuse collisions. */
  private readonly names = new Set<string>()

  constructor (options: MetricsRegistryOptions = {}) {
    if (options.defaultMetrics === true) collectDefaultMetrics({ register: this.prom })
  }

  counter<const S extends LabelSpec = Record<never, never>> (name: string, help: string, labels?: S): Counter<S> {
    if (!name.endsWith('_total')) throw new MetricsError('METRICS_BAD_NAME', `counter ${name} must end in _total`)
    const spec = this.claim(name, help, labels, [name])
    return new Counter<S>(this.prom, name, help, spec)
  }

  gauge<const S extends LabelSpec = Record<never, never>> (name: string, help: string, labels?: S): Gauge<S> {
    const spec = this.claim(name, help, labels, [name])
    return new Gauge<S>(this.prom, name, help, spec)
  }

  histogram<const S extends LabelSpec = Record<never, never>> (name: string, help: string, buckets: readonly number[], labels?: S): Histogram<S> {
    if (labels !== undefined && 'le' in labels) throw new MetricsError('METRICS_BAD_NAME', `${name}: le is the bucket label`)
    const spec = this.claim(name, help, labels, HISTOGRAM_SUFFIXES.map((suffix) => name + suffix))
    return new Histogram<S>(this.prom, name, help, buckets, spec)
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
  render (): Promise<string> {
    return this.prom.metrics()
  }

  /** Check a new family's name, help and labels, and reserve its sample names. */
  private claim<S extends LabelSpec> (name: string, help: string, labels: S | undefined, sampleNames: readonly string[]): S {
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
    for (const sampleName of [name, ...sampleNames]) {
      if (this.names.has(sampleName)) throw new MetricsError('METRICS_DUPLICATE', `metric ${sampleName} is already registered`)
    }
    for (const sampleName of [name, ...sampleNames]) this.names.add(sampleName)
    return spec
  }
}
