/**
 * Names and UDP through `mixgate up` as a user runs it (a child process, one mix and an
 * exit, shaping off): Tor's SOCKS RESOLVE answers `localhost` with 127.0.0.1 (RFC 6761: no
 * query), a name that is no DNS name is REP 0x04, a RESOLVE_PTR of a private address the
 * policy refuses is REP 0x02 (no query either), and a DNS query over SOCKS5 UDP ASSOCIATE
 * reaches a DNS server on 127.0.0.1 from the exit and its answer comes back. Nothing leaves
 * loopback: `up`'s exit resolves with the host's servers, so only names that need no query
 * are asked.
 */
import t from 'tap'
import dgram from 'node:dgram'
import { once } from 'node:events'
import { startDnsServer } from '../exit/helpers/dns-server.js'
import { atypIpv4, atypName, rawCommand } from '../helpers/raw-socks.js'
import { dnsQuery, rawAssociate, socksUdp } from '../helpers/socks-udp.js'
import { startCli } from './spawn-cli.js'

const up = startCli(t, ['up', '--socks', '127.0.0.1:0', '--mixes', '1', '--shaping', 'off', '--exit-policy', 'accept 127.0.0.1:*', '--log-level', 'warn'])
t.teardown(async () => { await up.stop('SIGTERM') })
await up.waitForStdout(/try: .*\n/, 30_000)
const socksPort = Number(/^mixgate: SOCKS5 proxy listening on 127\.0\.0\.1:(\d+) /.exec(up.stdout().split('\n')[0]!)![1])

t.test('RESOLVE and RESOLVE_PTR through up', async (t) => {
  const local = await rawCommand(socksPort, 0xf0, atypName('localhost'))
  t.same(local.reply, Buffer.from([0x05, 0x00, 0x00, 0x01, 127, 0, 0, 1, 0, 0]), `localhost → 127.0.0.1; up logged: ${up.stderr()}`)
  t.ok(local.closedAfter)
  t.equal((await rawCommand(socksPort, 0xf0, atypName('bad..name'))).rep, 0x04, 'no DNS name: host unreachable')
  t.equal((await rawCommand(socksPort, 0xf1, atypIpv4('10.1.2.3'))).rep, 0x02, 'PTR of a private address: not allowed')
})

t.test('a DNS query over UDP ASSOCIATE through up', async (t) => {
  const dns = await startDnsServer({ 'known.test': { a: ['127.0.0.1'] } })
  t.teardown(() => dns.close())
  const dnsPort = Number(dns.server.split(':')[1])
  const { control, reply, relayPort } = await rawAssociate(socksPort)
  t.teardown(() => control.destroy())
  t.equal(reply[1], 0x00, 'associated')
  const app = dgram.createSocket('udp4')
  await new Promise<void>((resolve) => app.bind(0, '127.0.0.1', resolve))
  t.teardown(() => app.close())
  app.send(socksUdp(dnsPort, dnsQuery(0x5151, 'known.test')), relayPort, '127.0.0.1')
  const [answer] = await once(app, 'message') as [Buffer]
  t.same(answer.subarray(0, 10), Buffer.from([0, 0, 0, 1, 127, 0, 0, 1, dnsPort >>> 8, dnsPort & 0xff]), 'from the DNS server')
  t.equal(answer.readUInt16BE(10), 0x5151, 'the answer to our query')
  t.same([...answer.subarray(answer.length - 4)], [127, 0, 0, 1], 'A 127.0.0.1')
})
