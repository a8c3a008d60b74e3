/**
 * A parser for the subset of the Prometheus text format 0.0.4 that prom-client writes
 * (registry.ts), so that `mixgate status` can read a node's /metrics:
 * `# HELP` and `# TYPE` lines, other comments (ignored), and sample lines
 * `name{label="value",…} value [timestamp]` with escaped label values and the special values
 * `+Inf`, `-Inf` and `NaN`, in any case as Prometheus reads them (prom-client writes `Nan`). Histogram samples (`_bucket`, `_sum`, `_count`) are filed under
 * their histogram. Anything else is refused with the line number, not guessed at.
 */
import { MetricsError } from './metrics-errors.js'
import type { MetricType } from './metrics-registry.js'

export interface Sample {
  /** The sample's own name (`mixgate_batch_cells_bucket`), which may differ from its family's. */
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

export interface ParsedFamily {
  readonly name: string
  type: MetricType | 'summary' | 'untyped'
  help: string
  readonly samples: Sample[]
}

/** Families by name, in the order they first appeared. */
export type ParsedMetrics = ReadonlyMap<string, ParsedFamily>

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/
const FLOAT = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped'])
const COMPOUND_SUFFIXES = ['_bucket', '_sum', '_count']

/** @throws MetricsError `METRICS_PARSE` naming the first line outside the subset. */
export function parsePrometheusText (text: string): ParsedMetrics {
  const families = new Map<string, ParsedFamily>()
  const family = (name: string): ParsedFamily => {
    let found = families.get(name)
    if (found === undefined) {
      found = { name, type: 'untyped', help: '', samples: [] }
      families.set(name, found)
    }
    return found
  }
  const lines = text.split('\n')
  if (lines[lines.length - 1] === '') lines.pop()
  lines.forEach((line, index) => {
    const fail = (what: string): never => {
      throw new MetricsError('METRICS_PARSE', `metrics line ${index + 1}: ${what}`)
    }
    if (line.trim() === '') return
    if (line.startsWith('#')) {
      const meta = /^#\s+(HELP|TYPE)\s+([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\s(.*))?$/.exec(line)
      if (meta === null) return // an ordinary comment
      const [, keyword, name, rest = ''] = meta
      if (keyword === 'HELP') {
        family(name!).help = unescapeHelp(rest)
      } else {
        if (!TYPES.has(rest.trim())) fail('unknown metric type')
        family(name!).type = rest.trim() as ParsedFamily['type']
      }
      return
    }
    const sample = parseSample(line, fail)
    owner(families, sample.name, family).samples.push(sample)
  })
  return families
}

/** The family a sample belongs to: its own name, or the histogram/summary it is part of. */
function owner (families: Map<string, ParsedFamily>, name: string, family: (name: string) => ParsedFamily): ParsedFamily {
  const own = families.get(name)
  if (own !== undefined) return own
  for (const suffix of COMPOUND_SUFFIXES) {
    if (!name.endsWith(suffix)) continue
    const base = families.get(name.slice(0, -suffix.length))
    if (base !== undefined && (base.type === 'histogram' || base.type === 'summary')) return base
  }
  return family(name)
}

function parseSample (line: string, fail: (what: string) => never): Sample {
  const name = NAME.exec(line)?.[0] ?? fail('expected a metric name')
  let rest = line.slice(name.length)
  const labels: Record<string, string> = {}
  if (rest.startsWith('{')) {
    rest = rest.slice(1)
    for (;;) {
      rest = rest.trimStart()
      if (rest.startsWith('}')) break
      const label = LABEL_NAME.exec(rest)?.[0] ?? fail('expected a label name')
      rest = rest.slice(label.length).trimStart()
      if (!rest.startsWith('="') && !rest.startsWith('= "')) fail('expected ="')
      rest = rest.slice(rest.indexOf('"') + 1)
      const { value, length } = readQuoted(rest, fail)
      if (label in labels) fail('a label appears twice')
      labels[label] = value
      rest = rest.slice(length).trimStart()
      if (rest.startsWith(',')) rest = rest.slice(1)
      else if (!rest.startsWith('}')) fail('expected , or }')
    }
    rest = rest.slice(1)
  }
  if (!/^[ \t]/.test(rest)) fail('expected a space before the value')
  const fields = rest.trim().split(/[ \t]+/)
  if (fields.length > 2 || (fields.length === 2 && !/^-?[0-9]+$/.test(fields[1]!))) fail('expected a value and an optional timestamp')
  return { name, labels, value: parseValue(fields[0]!, fail) }
}

/** A label value after its opening quote: the unescaped text and how many characters it took. */
function readQuoted (text: string, fail: (what: string) => never): { value: string, length: number } {
  let value = ''
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (c === '"') return { value, length: i + 1 }
    if (c === '\\') {
      const next = text[++i]
      if (next === '\\') value += '\\'
      else if (next === '"') value += '"'
      else if (next === 'n') value += '\n'
      else fail('unknown escape in a label value')
    } else {
      value += c
    }
  }
  return fail('unterminated label value')
}

function parseValue (text: string, fail: (what: string) => never): number {
  const special = /^([+-]?)(inf|nan)$/i.exec(text)
  if (special !== null) {
    if (special[2]!.toLowerCase() === 'nan') return NaN
    return special[1] === '-' ? -Infinity : Infinity
  }
  if (!FLOAT.test(text)) fail('expected a number')
  return Number(text)
}

function unescapeHelp (text: string): string {
  return text.replace(/\\(\\|n)/g, (_, c: string) => c === 'n' ? '\n' : '\\')
}

/** The value of the sample `name` whose labels include all of `labels`; undefined if none. */
export function sampleValue (metrics: ParsedMetrics, name: string, labels: Readonly<Record<string, string>> = {}): number | undefined {
  for (const family of metrics.values()) {
    for (const sample of family.samples) {
      if (sample.name === name && Object.entries(labels).every(([k, v]) => sample.labels[k] === v)) return sample.value
    }
  }
  return undefined
}

/** The sum of every sample named `name` (all label combinations); undefined if there is none. */
export function sumSamples (metrics: ParsedMetrics, name: string): number | undefined {
  let total: number | undefined
  for (const family of metrics.values()) {
    for (const sample of family.samples) if (sample.name === name) total = (total ?? 0) + sample.value
  }
  return total
}
