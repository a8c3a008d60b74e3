/**
 * `mixgate status --admin URL`: fetch a node's /healthz and /metrics and say in a few lines
 * how it is doing.
 *
 *   const status = await fetchStatus('http://127.0.0.1:9101')
 *   process.stdout.write(formatStatus(status))
 *
 * A node that answers /healthz with 503 is still a status to show (it is running, but
 * cannot carry traffic); only a node that cannot be reached or answers with something that is
 * not an admin server's reply is an error. Everything printed that came from the node is
 * reduced to plain words and numbers first, so a hostile admin port cannot write control
 * sequences to the operator's terminal.
 */
import { Client, request } from 'undici'
import { MetricsError } from '../../base/metrics-errors.js'
import { parsePrometheusText, sampleValue, sumSamples, type ParsedMetrics } from '../../base/metrics-text.js'
import { StatusError } from './errors.js'

export { parsePrometheusText, sampleValue, sumSamples, type ParsedMetrics } from '../../base/metrics-text.js'

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

export interface FetchStatusOptions {
  /** Deadline for connecting, for the headers, and between body chunks (default 5000 ms). */
  readonly timeoutMs?: number
}

/** Far more than any node's /metrics (a few kB): a bound, not an expectation. */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024

/**
 * GET `/healthz` and `/metrics` under `adminUrl` (`http://127.0.0.1:9101`, with or without
 * a trailing slash or a path prefix).
 * @throws StatusError `STATUS_BAD_URL`, `STATUS_UNREACHABLE`, `STATUS_BAD_RESPONSE`, `STATUS_BAD_METRICS`
 */
export async function fetchStatus (adminUrl: string, options: FetchStatusOptions = {}): Promise<NodeStatus> {
  let base: URL
  try {
    base = new URL(adminUrl)
  } catch {
    throw new StatusError('STATUS_BAD_URL', 'the admin URL is not a URL (expected http://HOST:PORT)')
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new StatusError('STATUS_BAD_URL', 'the admin URL must start with http:// or https://')
  }
  if (!base.pathname.endsWith('/')) base.pathname += '/'
  const timeoutMs = options.timeoutMs ?? 5000
  const client = new Client(base.origin, {
    connectTimeout: timeoutMs,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    maxResponseSize: MAX_RESPONSE_BYTES,
  })
  try {
    const health = await get(client, new URL('healthz', base))
    if (health.status !== 200 && health.status !== 503) throw badResponse(`/healthz answered ${health.status}`)
    const metrics = await get(client, new URL('metrics', base))
    if (metrics.status !== 200) throw badResponse(`/metrics answered ${metrics.status}`)
    if (!metrics.contentType.startsWith('text/plain')) throw badResponse('/metrics is not text/plain')
    return { httpStatus: health.status, health: parseHealth(health.text), metrics: parseMetrics(metrics.text) }
  } finally {
    await client.destroy()
  }
}

async function get (client: Client, url: URL): Promise<{ status: number, contentType: string, text: string }> {
  try {
    const response = await request(url, { dispatcher: client, method: 'GET' })
    const contentType = String(response.headers['content-type'] ?? '')
    return { status: response.statusCode, contentType, text: await response.body.text() }
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'error'
    if (code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') throw badResponse('the answer is far too large')
    throw new StatusError('STATUS_UNREACHABLE', `cannot reach the admin server: ${code}`, { cause: err })
  }
}

function parseHealth (text: string): HealthBody {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    throw badResponse('/healthz is not JSON')
  }
  const b = body as Record<string, unknown>
  if (typeof body !== 'object' || body === null || typeof b['status'] !== 'string' ||
      typeof b['role'] !== 'string' || typeof b['uptimeS'] !== 'number') {
    throw badResponse('/healthz lacks status, role or uptimeS')
  }
  const health: HealthBody = { status: b['status'], role: b['role'], uptimeS: b['uptimeS'] }
  return typeof b['reason'] === 'string' ? { ...health, reason: b['reason'] } : health
}

function parseMetrics (text: string): ParsedMetrics {
  try {
    return parsePrometheusText(text)
  } catch (err) {
    if (err instanceof MetricsError) throw new StatusError('STATUS_BAD_METRICS', err.message, { cause: err })
    throw err
  }
}

function badResponse (what: string): StatusError {
  return new StatusError('STATUS_BAD_RESPONSE', `not an admin server's answer: ${what}`)
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
  return lines.map(([label, value]) => `${label.padEnd(15)}${value}\n`).join('')
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
  const missed = v('mixgate_rounds_missed_total')
  if (missed > 0) lines.push(['missed rounds', `${num(missed)} (this process was too busy: its schedule broke for them)`])
  lines.push(['loops', `${num(v('mixgate_loops_sent_total'))} sent, ${num(v('mixgate_loops_returned_total'))} back, ${num(v('mixgate_loops_lost_total'))} lost, ${num(v('mixgate_loops_late_total'))} late`])
  const p50 = v('mixgate_loop_rtt_ms', { quantile: '0.5' })
  const expected = `expected under ${num(v('mixgate_loop_rtt_expected_ms'))} ms`
  lines.push(['loop RTT', Number.isNaN(p50)
    ? `none back yet (${expected})`
    : `p50 ${num(p50)} ms, p90 ${num(v('mixgate_loop_rtt_ms', { quantile: '0.9' }))} ms, p99 ${num(v('mixgate_loop_rtt_ms', { quantile: '0.99' }))} ms (${expected})`])
  const failed = v('mixgate_fail_closed') === 1
  lines.push(['alarms', `${num(v('mixgate_loop_alarms_total'))}${failed ? ' (FAILED CLOSED: new streams are refused)' : ''}`])
  lines.push(['cover', `${bytes(v('mixgate_cover_bytes_total', { direction: 'forward' }))} out, ${bytes(v('mixgate_cover_bytes_total', { direction: 'backward' }))} in`])
  const perSlot = v('mixgate_entry_creates_per_slot')
  const clients = v('mixgate_entry_clients')
  lines.push(['anonymity set', Number.isNaN(perSlot)
    ? 'unknown (the entry mix\'s admin port cannot be reached from this client; its cascadeUrl names it)'
    : `at least ${num(perSlot)} circuits per creation slot at the entry (median)${Number.isNaN(clients) ? '' : `, ${num(clients)} clients connected`}`])
  return lines
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
