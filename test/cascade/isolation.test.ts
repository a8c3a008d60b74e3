/**
 * Stream isolation end to end (R13; Tor's IsolateSOCKSAuth + IsolateDestAddr): streams share
 * a circuit only when both the SOCKS credentials and the destination host string match.
 * Counted twice: circuits the client built, and circuits the exit holds.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { cryptoReady } from '../../src/crypto/index.js'
import { startCascade } from '../helpers/cascade.js'
import { rawConnect } from '../helpers/raw-socks.js'
import { startHttpTarget } from '../helpers/targets.js'

await cryptoReady()
const run = promisify(execFile)

const http = await startHttpTarget(t)
const cascade = await startCascade()
t.teardown(() => cascade.stop())
const { socksPort } = cascade
const client = cascade.client.node
const exit = cascade.exit.node

/** One HTTP/1.0 request through a raw SOCKS connection; returns the response body. */
async function get (host: string, path: string, credentials?: [string, string]): Promise<string> {
  const request = Buffer.from(`GET ${path} HTTP/1.0\r\nHost: ${host}\r\n\r\n`)
  const { socket, reader, rep } = await rawConnect({
    socksPort, host, port: http.port, early: request,
    ...(credentials === undefined ? {} : { username: credentials[0], password: credentials[1] }),
  })
  try {
    if (rep !== 0) throw new Error(`SOCKS REP ${rep}`)
    const response = (await reader.readToEnd()).toString()
    return response.slice(response.indexOf('\r\n\r\n') + 4)
  } finally {
    socket.destroy()
  }
}

/** Circuits built by the client and held by the exit while `action` runs. */
async function circuitsFor (action: () => Promise<unknown>): Promise<{ built: number, atExit: number }> {
  const built = client.stats.circuitsBuilt
  const atExit = exit.circuits
  await action()
  return { built: client.stats.circuitsBuilt - built, atExit: exit.circuits - atExit }
}

t.test('different credentials to the same host: two circuits', async (t) => {
  const counts = await circuitsFor(async () => {
    t.equal(await get('localhost', '/alice', ['alice', 'x']), 'hello /alice\n')
    t.equal(await get('localhost', '/bob', ['bob', 'x']), 'hello /bob\n')
  })
  t.same(counts, { built: 2, atExit: 2 })
})

t.test('same user, different password (Tor: the pair is the key): two circuits', async (t) => {
  const counts = await circuitsFor(async () => {
    await get('localhost', '/p1', ['carol', 'one'])
    await get('localhost', '/p2', ['carol', 'two'])
  })
  t.same(counts, { built: 2, atExit: 2 })
})

t.test('same credentials and host again: the circuit is reused', async (t) => {
  await get('localhost', '/dave-1', ['dave', 'x'])
  const counts = await circuitsFor(async () => {
    t.equal(await get('localhost', '/dave-2', ['dave', 'x']), 'hello /dave-2\n')
    t.equal(await get('localhost', '/dave-3', ['dave', 'x']), 'hello /dave-3\n')
  })
  t.same(counts, { built: 0, atExit: 0 })
})

t.test('same credentials, parallel streams to one host: one circuit carries them all', async (t) => {
  const counts = await circuitsFor(async () => {
    const bodies = await Promise.all([1, 2, 3, 4].map((i) => get('localhost', `/erin-${i}`, ['erin', 'x'])))
    t.same(bodies, [1, 2, 3, 4].map((i) => `hello /erin-${i}\n`))
  })
  t.same(counts, { built: 1, atExit: 1 })
})

t.test('same credentials, different host strings (localhost vs 127.0.0.1): two circuits', async (t) => {
  const counts = await circuitsFor(async () => {
    await get('localhost', '/frank-a', ['frank', 'x'])
    await get('127.0.0.1', '/frank-b', ['frank', 'x'])
  })
  t.same(counts, { built: 2, atExit: 2 })
})

t.test('no credentials: host strings still isolate; case does not', async (t) => {
  const counts = await circuitsFor(async () => {
    await get('localhost', '/anon-1')
    await get('LOCALHOST', '/anon-2')
    await get('127.0.0.1', '/anon-3')
  })
  t.same(counts, { built: 2, atExit: 2 })
})

t.test('curl with credentials in the proxy URL gets its own circuit', async (t) => {
  const counts = await circuitsFor(async () => {
    const url = `http://localhost:${http.port}/curl-isolated`
    const { stdout } = await run('curl', ['-sS', '--max-time', '20', '-x', `socks5h://gina:pw@127.0.0.1:${socksPort}`, url])
    t.equal(stdout, 'hello /curl-isolated\n')
    const again = await run('curl', ['-sS', '--max-time', '20', '-x', `socks5h://gina:pw@127.0.0.1:${socksPort}`, url])
    t.equal(again.stdout, 'hello /curl-isolated\n')
  })
  t.same(counts, { built: 1, atExit: 1 }, 'both curls shared one new circuit')
})
