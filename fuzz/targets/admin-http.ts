/**
 * The admin HTTP server's routing (src/node/admin): there is no pure router function, so raw
 * fuzzed requests go to a real AdminServer on 127.0.0.1, one connection each (write, FIN,
 * read to close). Contract: every request is answered with a status the server means to send
 * (never a 500: every provider here works) or the connection is closed; no exception escapes
 * the process; and the server still answers /healthz after the run.
 */
import { connect } from 'node:net'
import { AdminServer } from '../../src/node/admin/admin-server.js'
import { invariant, InvariantBroken, type FuzzTarget, type TargetSpec } from '../target.js'
import { mutateBytes } from '../mutate.js'

const encoder = new TextEncoder()

const REQUESTS = [
  'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
  'GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n',
  'HEAD /descriptor HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\nGET /cascade HTTP/1.1\r\nHost: a\r\n\r\n',
  'POST /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello',
  'GET /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
  'GET http://127.0.0.1/metrics HTTP/1.1\r\nHost: a\r\n\r\n',
  'OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n',
  'GET /%00/../descriptor HTTP/1.0\r\n\r\n',
  `GET /${'a'.repeat(9000)} HTTP/1.1\r\nHost: a\r\n\r\n`,
  'GET /cascade HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n',
]

/** Status codes of every response in `text` (pipelined requests get several). */
function statuses (text: string): number[] {
  return [...text.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1]))
}

async function exchange (port: number, request: Uint8Array, timeoutMs: number): Promise<string | 'timeout'> {
  return await new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    const chunks: Buffer[] = []
    let settled = false
    const finish = (value: string | 'timeout'): void => { if (settled) return; settled = true; socket.destroy(); resolve(value) }
    socket.setTimeout(timeoutMs, () => finish('timeout'))
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', () => {}) // a reset is an answer too: the server closed
    socket.on('close', () => finish(Buffer.concat(chunks).toString('latin1')))
    socket.end(request)
  })
}

const adminHttp: TargetSpec = {
  name: 'admin-http',
  defaultInputs: 20_000,
  why: 'one loopback TCP connection per request (≈ 1–2 ms each on this machine)',
  async make (): Promise<FuzzTarget> {
    const server = new AdminServer({
      host: '127.0.0.1',
      port: 0,
      role: 'mix',
      metrics: { render: () => '# TYPE up gauge\nup 1\n' },
      descriptor: () => ({ type: 'node' }),
      cascade: () => '{"type":"cascade"}',
      uptimeS: () => 1,
    })
    const { port } = await server.start()
    // An exception from the server's own handlers surfaces here, not in run().
    const uncaught: unknown[] = []
    const onUncaught = (err: unknown): void => { uncaught.push(err) }
    process.on('uncaughtException', onUncaught)
    const corpus = REQUESTS.map((r) => encoder.encode(r))
    return {
      name: 'admin-http',
      errors: [],
      generate: (rng) => mutateBytes(rng, { corpus }),
      async run (input) {
        const answer = await exchange(port, input, 2000)
        if (uncaught.length > 0) throw uncaught.shift()
        if (answer === 'timeout') return 'no-answer-2s'
        const codes = statuses(answer)
        invariant(!codes.includes(500), 'no request makes the admin server fail (500)')
        return codes.length === 0 ? 'closed' : `http-${codes[0]}`
      },
      async close () {
        try {
          const health = await exchange(port, encoder.encode(REQUESTS[0]!), 5000)
          if (health === 'timeout' || !statuses(health).includes(200)) throw new InvariantBroken('the admin server still answers /healthz after the run')
        } finally {
          process.off('uncaughtException', onUncaught)
          await server.close()
        }
      },
    }
  },
}

export const adminTargets: readonly TargetSpec[] = [adminHttp]
