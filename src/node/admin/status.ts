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
import type { Client } from 'undici'
import { MetricsError } from '../../base/metrics-errors.js'
import { parsePrometheusText, type ParsedMetrics } from '../../base/metrics-text.js'
import type { HealthBody, NodeStatus } from './status-lines.js'
import { StatusError } from './errors.js'

export { parsePrometheusText, sampleValue, sumSamples, type ParsedMetrics } from '../../base/metrics-text.js'
export { formatDuration, formatStatus, statusLines, type HealthBody, type NodeStatus } from './status-lines.js'

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
  // undici loaded on first use: `mixgate up` imports this file and never fetches (issue #17).
  const { Client, request } = await import('undici')
  const client = new Client(base.origin, {
    connectTimeout: timeoutMs,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    maxResponseSize: MAX_RESPONSE_BYTES,
  })
  try {
    const get = async (url: URL): Promise<{ status: number, contentType: string, text: string }> => await getFrom(request, client, url)
    const health = await get(new URL('healthz', base))
    if (health.status !== 200 && health.status !== 503) throw badResponse(`/healthz answered ${health.status}`)
    const metrics = await get(new URL('metrics', base))
    if (metrics.status !== 200) throw badResponse(`/metrics answered ${metrics.status}`)
    if (!metrics.contentType.startsWith('text/plain')) throw badResponse('/metrics is not text/plain')
    return { httpStatus: health.status, health: parseHealth(health.text), metrics: parseMetrics(metrics.text) }
  } finally {
    await client.destroy()
  }
}

async function getFrom (request: typeof import('undici').request, client: Client, url: URL): Promise<{ status: number, contentType: string, text: string }> {
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
