/**
 * The bench's HTTP client (undici): a dispatcher per path, a download that checks every byte
 * against the origin's body, and sequential small requests for latency. Any status other
 * than 200, a short body or one wrong byte throws `TransferError`: the bench then exits
 * non-zero, because a fast wrong answer is not a result.
 */
import { performance } from 'node:perf_hooks'
import { Agent, Socks5ProxyAgent, request, type Dispatcher } from 'undici'

export class TransferError extends Error {
  override readonly name = 'TransferError'
}

const HEADERS_TIMEOUT_MS = 30_000
const BODY_TIMEOUT_MS = 60_000

/** A dispatcher straight to the origin. */
export function directDispatcher (): Dispatcher {
  return new Agent({ keepAliveTimeout: 60_000, headersTimeout: HEADERS_TIMEOUT_MS, bodyTimeout: BODY_TIMEOUT_MS })
}

/**
 * A dispatcher through a SOCKS5 proxy on loopback: no authentication, or a username (RFC 1929,
 * any password) — mixgate isolates streams by credentials, so each username gets circuits
 * of its own.
 */
export function socksDispatcher (port: number, username?: string): Dispatcher {
  // undici 7 flags SOCKS5 support as experimental with a process warning on first use; it
  // would land in the middle of the bench's table, and says nothing about the measurement.
  const emitWarning = process.emitWarning
  process.emitWarning = (() => {}) as typeof process.emitWarning
  try {
    const auth = username === undefined ? '' : `${encodeURIComponent(username)}:bench@`
    return new Socks5ProxyAgent(`socks5://${auth}127.0.0.1:${port}`, { headersTimeout: HEADERS_TIMEOUT_MS, bodyTimeout: BODY_TIMEOUT_MS })
  } finally {
    process.emitWarning = emitWarning
  }
}

export interface Transfer {
  readonly bytes: number
  readonly seconds: number
}

/**
 * Transfers cut by the network (a reset or an early close, not a wrong byte) and tried again.
 * Through a shaped cascade that is a circuit reaching its scheduled end under the stream
 * (docs/CLIENT.md "Lanes and lifetimes"); the bench reports the count beside the figures.
 */
export const cuts = { count: 0 }

/** A failure of the connection rather than of the answer: worth one more try, counted. */
function isCut (err: unknown): boolean {
  const code = (err as { code?: string }).code
  return code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_CLOSED' ||
    code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' // a body cut short: the stream was reset under it
}

/**
 * GET `url` and compare the body, chunk by chunk, with `expected` (memcmp-cheap, so the check
 * costs the bench process next to nothing). `reset` asks for a connection of its own
 * (`Connection: close`), as a fresh browser stream would open. A transfer cut by the
 * connection is tried again on a new one, up to MAX_TRIES in all, each cut counted in `cuts`;
 * its time runs from the first try (what the user waited), its bytes are the complete
 * answer's. (Soon after a shaped client starts, its start-up circuits end every 50 s, and a
 * long download can be cut twice.)
 */
export async function fetchExpect (dispatcher: Dispatcher, url: string, expected: Uint8Array, reset = false): Promise<Transfer> {
  const started = performance.now()
  for (let tries = 1; ; tries++) {
    try {
      return await fetchOnce(dispatcher, url, expected, reset || tries > 1, started)
    } catch (err) {
      if (!isCut(err) || tries >= MAX_TRIES) throw err
      cuts.count++
    }
  }
}

const MAX_TRIES = 4

async function fetchOnce (dispatcher: Dispatcher, url: string, expected: Uint8Array, reset: boolean, started: number): Promise<Transfer> {
  const { statusCode, body } = await request(url, { dispatcher, reset })
  if (statusCode !== 200) {
    body.resume()
    throw new TransferError(`${url}: HTTP ${statusCode}`)
  }
  const want = Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength)
  let offset = 0
  for await (const chunk of body as AsyncIterable<Buffer>) {
    const end = offset + chunk.length
    if (end > want.length || !chunk.equals(want.subarray(offset, end))) {
      body.destroy()
      throw new TransferError(`${url}: wrong bytes at offset ${offset}`)
    }
    offset = end
  }
  if (offset !== want.length) throw new TransferError(`${url}: ${offset} bytes, expected ${want.length}`)
  return { bytes: offset, seconds: (performance.now() - started) / 1000 }
}

/** `count` transfers of the same URL in parallel, each on a new connection; the aggregate time is the slowest one's. */
export async function fetchParallel (dispatcher: Dispatcher, url: string, expected: Uint8Array, count: number): Promise<Transfer> {
  const started = performance.now()
  const results = await Promise.all(Array.from({ length: count }, () => fetchExpect(dispatcher, url, expected, true)))
  return { bytes: results.reduce((sum, r) => sum + r.bytes, 0), seconds: (performance.now() - started) / 1000 }
}

/** Milliseconds of each of `count` sequential small requests. */
export async function latencies (dispatcher: Dispatcher, url: string, expected: Uint8Array, count: number, fresh: boolean): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < count; i++) out.push((await fetchExpect(dispatcher, url, expected, fresh)).seconds * 1000)
  return out
}

/** The q-quantile (0..1) of `values`, by linear interpolation between closest ranks. */
export function quantile (values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  if (sorted.length === 0) return NaN
  const pos = (sorted.length - 1) * q
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo)
}
