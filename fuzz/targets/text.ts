/**
 * Targets over text: node config files of every role (src/base/config-file.ts with the CLI's
 * role schemas), the JSON syntax scanner behind every config and descriptor message, and the
 * Prometheus text `mixgate status` reads from a node's /metrics.
 */
import { roleConfigSpec } from '../../src/cli/config/role-config.js'
import { ConfigError } from '../../src/base/config-error.js'
import { parseConfigText } from '../../src/base/config-file.js'
import { findJsonProblem, lineAndColumn } from '../../src/base/json-syntax.js'
import { MetricsError } from '../../src/node/metrics/errors.js'
import { parsePrometheusText } from '../../src/node/metrics/parse-text.js'
import { mutateBytes, mutateJson } from '../mutate.js'
import { invariant, type FuzzTarget, type TargetSpec } from '../target.js'

const decoder = new TextDecoder() // not fatal: invalid UTF-8 becomes U+FFFD, as a file read would not; the text targets see text
const encoder = new TextEncoder()

const CONFIGS: readonly object[] = [
  { role: 'mix', position: 1, keyDir: 'mix1', address: '127.0.0.1:9001', listen: '0.0.0.0:9001', cascade: 'cascade.json', admin: '127.0.0.1:9101', publish: '127.0.0.1:0', replayCapacity: 4096, circuitIdleS: 600, minBatch: 4, peers: ['http://127.0.0.1:9102/descriptor'], log: { level: 'debug', format: 'json' } },
  { role: 'exit', keyDir: 'exit', address: '[::1]:9003', cascade: 'c.json', exitPolicy: ['accept 127.0.0.1:8080', 'reject *:25,accept [::1]/128:1-1024', 'reject 10.0.0.0/8:*'], dnsServers: ['9.9.9.9', '[2620:fe::fe]:53', '1.1.1.1:53'], connectTimeoutMs: 5000, shaping: { profile: 'strict', rates: [1] } },
  { role: 'exit', keyDir: 'e', address: '127.0.0.1:1', shaping: { profile: 'elastic', rates: [0.2, 1, 4, 16], slotMs: 2000, circuits: 3, circuitSlots: 300, kMin: 2, createHoldRounds: 100, loopsPerSlot: 4, loopJitterRounds: 8 } },
  { role: 'client', cascade: 'cascade.json', cascadeUrl: 'http://127.0.0.1:9101/cascade', socks: '127.0.0.1:1080', auth: ['none', 'userpass'], safeSocks: true, streamTimeoutMs: 30000, alarmLimit: 3, admin: '[::1]:0', log: {} },
  { role: 'client', cascade: 'x' },
]

const configFile: TargetSpec = {
  name: 'config-file',
  make (): FuzzTarget {
    return {
      name: 'config-file',
      errors: [ConfigError],
      generate: (rng) => mutateJson(rng, CONFIGS),
      run (input) {
        const config = parseConfigText(decoder.decode(input), 'fuzz.json', roleConfigSpec)
        return config.role
      },
    }
  },
}

/**
 * The scanner against V8's JSON.parse: whatever the scanner accepts must parse, and whatever
 * fails to parse must be refused (duplicate keys are the one thing only the scanner refuses).
 */
const jsonSyntax: TargetSpec = {
  name: 'json-syntax',
  make (): FuzzTarget {
    return {
      name: 'json-syntax',
      errors: [],
      generate: (rng) => rng.chance(0.3) ? mutateBytes(rng, { corpus: CONFIGS.map((c) => encoder.encode(JSON.stringify(c, null, 1))) }) : mutateJson(rng, CONFIGS),
      run (input) {
        const text = decoder.decode(input)
        const problem = findJsonProblem(text)
        let parses = true
        try { JSON.parse(text) } catch { parses = false }
        if (problem === undefined) {
          invariant(parses, 'text the scanner accepts is JSON')
          return 'clean'
        }
        invariant(problem.offset >= 0 && problem.offset <= text.length, 'the problem is inside the text')
        const { line, column } = lineAndColumn(text, problem.offset)
        invariant(line >= 1 && column >= 1, 'line and column are 1-based')
        return problem.reason.startsWith('duplicate key') ? 'duplicate-key' : 'problem'
      },
    }
  },
}

const METRICS = [
  '# HELP mixgate_cells_total Cells.\n# TYPE mixgate_cells_total counter\nmixgate_cells_total{direction="forward"} 12\nmixgate_cells_total{direction="backward"} 3\n',
  '# TYPE mixgate_batch_cells histogram\nmixgate_batch_cells_bucket{le="1"} 0\nmixgate_batch_cells_bucket{le="+Inf"} 4\nmixgate_batch_cells_sum 9\nmixgate_batch_cells_count 4\n',
  '# TYPE up gauge\nup 1\nmixgate_info{role="mix",version="0.1.0",label="a\\"b\\\\c\\n"} 1\nnan_metric NaN\ninf +Inf\n',
]

const metricsText: TargetSpec = {
  name: 'metrics-text',
  make (): FuzzTarget {
    const corpus = METRICS.map((m) => encoder.encode(m))
    return {
      name: 'metrics-text',
      errors: [MetricsError],
      generate: (rng) => mutateBytes(rng, { corpus }),
      run (input) {
        const families = parsePrometheusText(decoder.decode(input))
        return families.size === 0 ? 'empty' : 'families'
      },
    }
  },
}

export const textTargets: readonly TargetSpec[] = [configFile, jsonSyntax, metricsText]
