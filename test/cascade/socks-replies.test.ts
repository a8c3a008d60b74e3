/**
 * What the app reads back from SOCKS, end to end through a loopback cascade, on the raw
 * reply bytes: the client answers only after the exit did (R20), maps END reasons with Tor's
 * table (ANCHORS §4.1), and says nothing else — a success carries BND 0.0.0.0:0, never the
 * address the exit used. Also how curl sees a refusal.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { cryptoReady } from '../../src/crypto/index.js'
import { startCascade } from '../helpers/cascade.js'
import { startDnsServer } from '../exit/helpers/dns-server.js'
import { rawConnect } from '../helpers/raw-socks.js'
import { closedPort, startHttpTarget } from '../helpers/targets.js'

await cryptoReady()

const dns = await startDnsServer({ 'known.test': { a: ['127.0.0.1'] } })
t.teardown(() => dns.close())
const target = await startHttpTarget(t)
const cascade = await startCascade({ dnsServers: [dns.server] })
t.teardown(() => cascade.stop())
const socksPort = cascade.socksPort

/** CONNECT and return the whole reply; the connection is closed afterwards. */
async function replyFor (host: string, port: number): Promise<Buffer> {
  const { socket, reply } = await rawConnect({ socksPort, host, port })
  socket.destroy()
  return reply
}

const reply = (rep: number): Buffer => Buffer.from([0x05, rep, 0x00, 0x01, 0, 0, 0, 0, 0, 0])

t.test('success: REP 0x00 with BND 0.0.0.0:0 (the address the exit used stays hidden)', async (t) => {
  t.same(await replyFor('127.0.0.1', target.port), reply(0x00), 'IPv4 literal')
  t.same(await replyFor('known.test', target.port), reply(0x00), 'a name resolved by the exit')
  t.same(await replyFor('localhost', target.port), reply(0x00), 'localhost (answered without a query)')
})

t.test('a policy refusal is REP 0x02', async (t) => {
  const refusedBefore = cascade.exit.node.exitStats.streamsRefused
  t.same(await replyFor('127.0.0.2', target.port), reply(0x02), 'loopback not opened by the operator (private range)')
  t.same(await replyFor('93.184.216.34', 25), reply(0x02), 'a public address on port 25 (Tor default port reject): never dialled')
  t.same(await replyFor('127.0.0.1', cascade.cascade.hops[1]!.address.port), reply(0x02), 'a cascade node\'s own port')
  t.same(await replyFor('10.1.2.3', 80), reply(0x02), 'a private range')
  t.equal(cascade.exit.node.exitStats.streamsRefused - refusedBefore, 4, 'the exit counted four refusals')
})

t.test('a closed loopback port is REP 0x05 (connection refused)', async (t) => {
  t.same(await replyFor('127.0.0.1', await closedPort()), reply(0x05))
})

t.test('a name the exit cannot resolve is REP 0x04 (host unreachable)', async (t) => {
  const asked = dns.questions.length
  t.same(await replyFor('no-such-name.test', 80), reply(0x04), 'NXDOMAIN from the exit\'s pinned server')
  t.ok(dns.questions.slice(asked).some((q) => q.name === 'no-such-name.test'), 'the exit asked its own DNS server (socks5h: resolved at the exit)')
  t.same(await replyFor('bad..name', 80), reply(0x04), 'a name that is not a DNS name')
})

t.test('curl reports a refusal as a proxy error and fetches nothing', async (t) => {
  const before = target.requests.length
  const result = await new Promise<{ code: number | null, stderr: string }>((resolve) => {
    execFile('curl', ['-sS', '--max-time', '20', '--socks5-hostname', `127.0.0.1:${socksPort}`, `http://127.0.0.2:${target.port}/`],
      (err, _stdout, stderr) => resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? null, stderr }))
  })
  // curl ≥ 7.73 returns CURLE_PROXY (97) for SOCKS errors; older ones CURLE_COULDNT_CONNECT (7).
  t.ok(result.code === 97 || result.code === 7, `curl exit code ${String(result.code)} is a proxy/connect failure`)
  t.match(result.stderr, /not allowed|ruleset|SOCKS5/i, 'curl names the SOCKS refusal')
  t.equal(target.requests.length, before, 'nothing reached the server')
})
