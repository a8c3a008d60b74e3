/**
 * Per-site isolation under shaping (issue #13): a browser that gives every site its own SOCKS
 * credentials (Tor Browser's IsolateSOCKSAuth) opens ten sites within ten seconds through a
 * loopback cascade under the default `elastic` profile, with curl. Every one is served, and
 * while all ten are open they run on ten distinct circuits, one stream each, counted at the
 * client (which key each circuit is bound to) and at the exit (open streams per circuit).
 * The server holds every answer until all ten requests arrived, so the streams are open at
 * the same time. No timing is asserted; the slowest time from curl's start to its request at
 * the server is printed (the first byte of a site's stream through the cascade).
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { createServer, type ServerResponse } from 'node:http'
import { promisify } from 'node:util'
import { cryptoReady } from '../../src/crypto/index.js'
import { credentialsKey } from '../../src/client/isolation.js'
import type { ConnectRequest } from '../../src/client/socks/index.js'
import { DEFAULT_SHAPING } from '../../src/protocol/shaping.js'
import { startCascade, waitFor } from '../helpers/cascade.js'

await cryptoReady()
const run = promisify(execFile)
const SITES = 10

// Answers wait until the test has counted the circuits with all SITES requests in (or a minute passed).
const held: Array<{ url: string, res: ServerResponse }> = []
const arrived = new Map<string, number>()
const server = createServer((req, res) => {
  arrived.set(req.url ?? '', Date.now())
  held.push({ url: req.url ?? '', res })
})
let releaseTimer: NodeJS.Timeout | undefined
function release (): void {
  clearTimeout(releaseTimer)
  for (const { url, res } of held.splice(0)) res.end(`hello ${url}\n`)
}
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
const httpPort = (server.address() as { port: number }).port
t.teardown(() => { release(); server.closeAllConnections(); server.close() })

const shaping = DEFAULT_SHAPING.elastic
const cascade = await startCascade({ roundMs: 10, cellSize: 2048, shaping })
t.teardown(() => cascade.stop())
const client = cascade.client.node
const shaper = client.shaperState!

t.test(`${SITES} SOCKS usernames within 10 s under default elastic: all served, ${SITES} distinct circuits`, async (t) => {
  await waitFor(() => shaper.circuits().length === shaping.circuits, 'the client\'s circuits', 30_000)
  t.equal(shaper.circuits().filter((c) => c.boundKey !== null).length, 0, 'no circuit bound to a key yet')
  releaseTimer = setTimeout(release, 60_000)
  const opened = new Map<string, number>()
  const curls: Array<Promise<string>> = []
  for (let i = 0; i < SITES; i++) {
    opened.set(`/site${i}`, Date.now())
    curls.push(run('curl', [
      '-sS', '--max-time', '90', '--socks5-hostname', `127.0.0.1:${cascade.socksPort}`,
      '--proxy-user', `site${i}.example:pw`, `http://localhost:${httpPort}/site${i}`,
    ]).then(({ stdout }) => stdout))
    await new Promise((resolve) => setTimeout(resolve, 500)) // ten sites opened over about five seconds
  }
  await waitFor(() => held.length === SITES, 'every request at the server', 90_000).catch((err: unknown) => {
    t.comment(`at the server: ${held.length}; circuits [key, streams]: ${JSON.stringify(shaper.circuits().map((c) => [c.boundKey, c.circuit.streams.size]))}`)
    throw err
  })

  // All ten open at once: where are they?
  const withStreams = shaper.circuits().filter((c) => c.circuit.streams.size > 0)
  t.equal(withStreams.length, SITES, `${SITES} circuits carry streams`)
  t.ok(withStreams.every((c) => c.circuit.streams.size === 1), 'one stream each')
  const keys = new Set(withStreams.map((c) => c.boundKey))
  const request = (i: number): ConnectRequest => ({ host: 'localhost', port: httpPort, addressType: 'hostname', username: `site${i}.example`, password: 'pw' })
  const expected = new Set(Array.from({ length: SITES }, (_, i) => credentialsKey(request(i))))
  t.same([...keys].sort(), [...expected].sort(), 'each circuit is bound to one site\'s credentials, each site to one circuit')
  t.same(cascade.exit.node.openStreamsPerCircuit().sort(), new Array(SITES).fill(1), `the exit too holds ${SITES} circuits with one stream each`)
  t.equal(shaper.circuits().length, shaping.circuits, 'the client still has exactly K circuits (the schedule did not change)')

  release()
  const bodies = await Promise.all(curls)
  t.same(bodies.sort(), Array.from({ length: SITES }, (_, i) => `hello /site${i}\n`).sort(), 'every site answered')
  const latency = [...opened].map(([url, ms]) => arrived.get(url)! - ms)
  t.comment(`curl start to its request at the server: slowest ${Math.max(...latency)} ms, median ${latency.sort((a, b) => a - b)[SITES >> 1]} ms; client rounds missed ${shaper.missedRounds}`)
})
