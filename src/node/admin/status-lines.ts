/**
 * What `mixgate status` prints and the admin status page shows, from a node's /healthz and
 * /metrics: one `label  value` pair per item the node reports. Apart from status.ts so that
 * the admin server can render its own page without loading the HTTP client behind fetchStatus.
 *
 * Everything that came from the node is reduced to plain words and numbers here, so a hostile
 * admin port cannot write control sequences to the operator's terminal (the page escapes
 * again, for HTML).
 */
import { sampleValue, sumSamples, type ParsedMetrics } from '../../base/metrics-text.js'

/** What /healthz says. */
export interface HealthBody {
  readonly status: string
  readonly role: string
  readonly uptimeS: number
  readonly reason?: string
}

export interface NodeStatus {
  /** 200 (healthy) or 503 (unhealthy). */
  readonly httpStatus: number
  readonly health: HealthBody
  readonly metrics: ParsedMetrics
}

/**
 * A short summary, one `label  value` line per item the node reports (items it does not
 * report, such as rounds at a client, are left out), ending with a newline:
 *
 *   role           mix, position 1
 *   health         ok
 *   uptime         1h 2m 3s
 *   epoch          17
 *   circuits       42
 *   cells          123456 in, 123450 out
 *   rounds         9876
 *   auth failures  3
 *   replays        1 dropped
 *   links          3 open, successor up
 *
 * and at a client of a shaped cascade (issue #5):
 *
 *   shaping        elastic, circuits at rungs 0:2 3:1
 *   loops          120 sent, 118 back, 0 lost, 0 late
 *   loop RTT       p50 60 ms, p90 80 ms, p99 90 ms (expected under 740 ms)
 *   alarms         0
 *   cover          12.3 MB out, 4.5 MB in
 *   anonymity set  at least 4 circuits per creation slot at the entry (median), 3 clients connected
 */
export function formatStatus (status: NodeStatus): string {
  return statusLines(status).map(([label, value]) => `${label.padEnd(15)}${value}\n`).join('')
}

/** The pairs formatStatus prints, in its order: labels are fixed words, values plain text. */
export function statusLines (status: NodeStatus): Array<[label: string, value: string]> {
  const m = status.metrics
  const lines: Array<[string, string]> = []
  const position = sampleValue(m, 'mixgate_position')
  lines.push(['role', word(status.health.role) + (position === undefined ? '' : `, position ${num(position)}`)])
  const healthy = status.httpStatus === 200 && status.health.status === 'ok'
  const reason = status.health.reason === undefined ? '' : ` (${word(status.health.reason)})`
  lines.push(['health', healthy ? 'ok' : `unhealthy${reason}`])
  lines.push(['uptime', formatDuration(status.health.uptimeS)])
  const add = (label: string, value: number | undefined, render: (v: string) => string = (v) => v): void => {
    if (value !== undefined) lines.push([label, render(num(value))])
  }
  add('epoch', sampleValue(m, 'mixgate_epoch'))
  add('circuits', sampleValue(m, 'mixgate_circuits'))
  const cellsIn = sampleValue(m, 'mixgate_cells_in_total')
  const cellsOut = sampleValue(m, 'mixgate_cells_out_total')
  if (cellsIn !== undefined || cellsOut !== undefined) {
    lines.push(['cells', `${num(cellsIn ?? 0)} in, ${num(cellsOut ?? 0)} out`])
  }
  const missed = sampleValue(m, 'mixgate_rounds_missed_total') ?? 0
  add('rounds', sampleValue(m, 'mixgate_rounds_total'), (v) => missed > 0 ? `${v}, ${num(missed)} missed (the node was too busy)` : v)
  add('auth failures', sumSamples(m, 'mixgate_authentication_failures_total'))
  add('replays', sampleValue(m, 'mixgate_replays_dropped_total'), (v) => `${v} dropped`)
  const links: string[] = []
  const open = sampleValue(m, 'mixgate_links_open')
  if (open !== undefined) links.push(`${num(open)} open`)
  const successor = sampleValue(m, 'mixgate_successor_up')
  if (successor !== undefined) links.push(successor === 1 ? 'successor up' : 'successor down')
  if (links.length > 0) lines.push(['links', links.join(', ')])
  const streamsOpen = sampleValue(m, 'mixgate_streams')
  const streamsOpened = sampleValue(m, 'mixgate_streams_opened_total')
  if (streamsOpen !== undefined || streamsOpened !== undefined) {
    const parts: string[] = []
    if (streamsOpen !== undefined) parts.push(`${num(streamsOpen)} open`)
    if (streamsOpened !== undefined) parts.push(`${num(streamsOpened)} opened`)
    const refused = sampleValue(m, 'mixgate_streams_refused_total')
    if (refused !== undefined) parts.push(`${num(refused)} refused`)
    lines.push(['streams', parts.join(', ')])
  }
  lines.push(...shapingLines(m))
  return lines
}

/** A client's shaping, loop health, cover and anonymity set (nothing for other nodes). */
function shapingLines (m: ParsedMetrics): Array<[string, string]> {
  const profile = ['off', 'strict', 'elastic'].find((p) => sampleValue(m, 'mixgate_shaping_info', { profile: p }) === 1)
  if (profile === undefined) return []
  const lines: Array<[string, string]> = []
  const rungs: string[] = []
  for (let rung = 0; rung < 16; rung++) {
    const count = sampleValue(m, 'mixgate_shaping_rung_circuits', { rung: String(rung) })
    if (count !== undefined && count > 0) rungs.push(`${rung}:${num(count)}`)
  }
  lines.push(['shaping', profile + (profile === 'elastic' && rungs.length > 0 ? `, circuits at rungs ${rungs.join(' ')}` : '')])
  if (profile === 'off') return lines
  const v = (name: string, labels?: Record<string, string>): number => sampleValue(m, name, labels) ?? Number.NaN
  const capacity = v('mixgate_shaping_capacity_cells')
  if (profile === 'elastic' && !Number.isNaN(capacity)) {
    const congestions = v('mixgate_shaping_congestion_total', { sign: 'busy' }) + v('mixgate_shaping_congestion_total', { sign: 'slow_echo' })
    lines.push(['capacity', `${num(capacity)} cells a round for all circuits above the wake rung` + (congestions > 0 ? `, halved ${num(congestions)} times for congestion` : '')])
  }
  const missed = v('mixgate_rounds_missed_total')
  if (missed > 0) lines.push(['missed rounds', `${num(missed)} (this process was too busy: its schedule broke for them)`])
  lines.push(['loops', `${num(v('mixgate_loops_sent_total'))} sent, ${num(v('mixgate_loops_returned_total'))} back, ${num(v('mixgate_loops_lost_total'))} lost, ${num(v('mixgate_loops_late_total'))} late`])
  const p50 = v('mixgate_loop_rtt_ms', { quantile: '0.5' })
  const expected = `expected under ${num(v('mixgate_loop_rtt_expected_ms'))} ms`
  lines.push(['loop RTT', Number.isNaN(p50)
    ? `none back yet (${expected})`
    : `p50 ${num(p50)} ms, p90 ${num(v('mixgate_loop_rtt_ms', { quantile: '0.9' }))} ms, p99 ${num(v('mixgate_loop_rtt_ms', { quantile: '0.99' }))} ms (${expected})`])
  lines.push(['alarms', alarmsLine(v)])
  lines.push(['cover', `${bytes(v('mixgate_cover_bytes_total', { direction: 'forward' }))} out, ${bytes(v('mixgate_cover_bytes_total', { direction: 'backward' }))} in`])
  const perSlot = v('mixgate_entry_creates_per_slot')
  const clients = v('mixgate_entry_clients')
  lines.push(['anonymity set', Number.isNaN(perSlot)
    ? 'unknown (the entry mix\'s admin port cannot be reached from this client; its cascadeUrl names it)'
    : `at least ${num(perSlot)} circuits per creation slot at the entry (median)${Number.isNaN(clients) ? '' : `, ${num(clients)} clients connected`}`])
  return lines
}

/**
 * `3 in 1 incident (FAILED CLOSED: …)`: the loop alarms, the incidents they made when fewer
 * (alarms of one stall count once), and whether the client refuses new streams and until when.
 */
function alarmsLine (v: (name: string) => number): string {
  const alarms = v('mixgate_loop_alarms_total')
  const incidents = v('mixgate_loop_incidents_total')
  let line = num(alarms)
  if (!Number.isNaN(incidents) && incidents !== alarms) line += ` in ${num(incidents)} incident${incidents === 1 ? '' : 's'}`
  const hold = v('mixgate_fail_closed_hold_seconds')
  if (v('mixgate_fail_closed') === 1) {
    return line + (hold === Infinity
      ? ' (FAILED CLOSED: new streams are refused until the client is restarted, failClosed untilRestart)'
      : ` (FAILED CLOSED: new streams are refused; it re-opens once its probes come back on time for ${num(hold)} s with no alarm)`)
  }
  const episodes = v('mixgate_fail_closed_total')
  if (episodes > 0) line += ` (failed closed ${num(episodes)} time${episodes === 1 ? '' : 's'}, re-opened ${num(v('mixgate_fail_closed_recoveries_total'))})`
  return line
}

/** `12345678` → `12.3 MB`. */
function bytes (n: number): string {
  if (!Number.isFinite(n)) return 'unknown'
  if (n < 1000) return `${num(n)} B`
  const units = ['kB', 'MB', 'GB', 'TB']
  let value = n / 1000
  let unit = 0
  while (value >= 1000 && unit < units.length - 1) { value /= 1000; unit++ }
  return `${value.toFixed(1)} ${units[unit]}`
}

/** `3725` → `1h 2m 5s`; `59` → `59s`; days when there are any. */
export function formatDuration (seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return 'unknown'
  let s = Math.floor(seconds)
  const d = Math.floor(s / 86400); s -= d * 86400
  const h = Math.floor(s / 3600); s -= h * 3600
  const m = Math.floor(s / 60); s -= m * 60
  if (d > 0) return `${d}d ${h}h ${m}m ${s}s`
  if (h > 0) return `${h}h ${m}m ${s}s`
  if (m > 0) return `${m}m ${s}s`
  return `${s}s`
}

/** A number as a plain decimal (integers without exponent up to 2^53), or its special name. */
function num (value: number): string {
  if (Number.isNaN(value)) return 'NaN'
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : '-Inf'
  if (Number.isInteger(value) && Math.abs(value) <= Number.MAX_SAFE_INTEGER) return value.toFixed(0)
  return String(Number(value.toPrecision(6)))
}

/** Text from the node, reduced to what a role or reason word contains. */
function word (text: string): string {
  const clean = text.replace(/[^a-zA-Z0-9_[\]-]/g, '').slice(0, 32)
  return clean === '' ? '?' : clean
}
