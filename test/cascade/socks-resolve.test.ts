/**
 * Tor's SOCKS RESOLVE (0xF0) and RESOLVE_PTR (0xF1) extensions through a real loopback
 * cascade, spoken byte by byte by a raw SOCKS5 client: the name is looked up by the exit's
 * pinned resolver under its policy (PROTOCOL.md §7.2), never by the client; the reply
 * carries the address (ATYP 1 or 4) or the name (ATYP 3) with BND.PORT 0, and the front then
 * closes the connection. Failures map as for CONNECT (Tor's table): unknown host → 0x04,
 * policy refusal → 0x02; RESOLVE_PTR of a name → 0x08; a front without RESOLVE → 0x07.
 * RESOLVE works over SOCKS4a too, as in Tor (tor-resolve -4): the IPv4 answer in DSTIP.
 */
import t from 'tap'
import { cryptoReady } from '../../src/crypto/index.js'
import { startCascade } from '../helpers/cascade.js'
import { startDnsServer, TYPE_A, TYPE_PTR } from '../exit/helpers/dns-server.js'
import { atypIpv4, atypName, openSocket, rawCommand, SocketReader } from '../helpers/raw-socks.js'
import { SocksFront } from '../../src/client/socks/index.js'
import { encodeSocks4Request } from '../../src/client/socks/socks4-request.js'

await cryptoReady()

const dns = await startDnsServer({
  'known.test': { a: ['127.0.0.1'] },
  'v6only.test': { aaaa: ['2001:db8::7'] },
  'private.test': { a: ['10.9.8.7'] },
  '1.0.0.127.in-addr.arpa': { ptr: ['loop.test'] },
})
t.teardown(() => dns.close())
const cascade = await startCascade({ dnsServers: [dns.server], exitPolicy: ['accept 127.0.0.1:*', 'accept [2001:db8::]/32:*'] })
t.teardown(() => cascade.stop())

const RESOLVE = 0xf0
const RESOLVE_PTR = 0xf1
const failure = (rep: number): Buffer => Buffer.from([0x05, rep, 0x00, 0x01, 0, 0, 0, 0, 0, 0])

t.test('RESOLVE of a name: the exit\'s answer in BND.ADDR (ATYP 1, or 4 for IPv6), BND.PORT 0, then close', async (t) => {
  const asked = dns.questions.length
  const v4 = await rawCommand(cascade.socksPort, RESOLVE, atypName('known.test'))
  t.same(v4.reply, Buffer.from([0x05, 0x00, 0x00, 0x01, 127, 0, 0, 1, 0, 0]))
  t.ok(v4.closedAfter, 'the front closes after the answer')
  t.ok(dns.questions.slice(asked).some((q) => q.name === 'known.test' && q.type === TYPE_A), 'the exit asked its own DNS server')
  const v6 = await rawCommand(cascade.socksPort, RESOLVE, atypName('v6only.test'))
  t.same(v6.reply, Buffer.concat([Buffer.from([0x05, 0x00, 0x00, 0x04, 0x20, 0x01, 0x0d, 0xb8]), Buffer.alloc(11), Buffer.from([7, 0, 0])]))
  const credentials = await rawCommand(cascade.socksPort, RESOLVE, atypName('known.test'), 'site-a')
  t.equal(credentials.rep, 0x00, 'with RFC 1929 credentials (an isolation key) too')
})

t.test('RESOLVE_PTR of an address: the name in BND.ADDR (ATYP 3)', async (t) => {
  const ptr = await rawCommand(cascade.socksPort, RESOLVE_PTR, atypIpv4('127.0.0.1'))
  t.same(ptr.reply, Buffer.concat([Buffer.from([0x05, 0x00, 0x00, 0x03, 9]), Buffer.from('loop.test'), Buffer.from([0, 0])]))
  t.ok(ptr.closedAfter)
  t.ok(dns.questions.some((q) => q.name === '1.0.0.127.in-addr.arpa' && q.type === TYPE_PTR), 'the exit asked for the PTR record')
})

t.test('failures map like CONNECT\'s: unknown host 0x04, policy refusal 0x02', async (t) => {
  t.same((await rawCommand(cascade.socksPort, RESOLVE, atypName('no-such.test'))).reply, failure(0x04), 'NXDOMAIN: host unreachable')
  t.same((await rawCommand(cascade.socksPort, RESOLVE, atypName('private.test'))).reply, failure(0x02), 'only a private address: not allowed')
  t.same((await rawCommand(cascade.socksPort, RESOLVE_PTR, atypIpv4('10.1.1.1'))).reply, failure(0x02), 'PTR of a private address: not allowed')
  t.same((await rawCommand(cascade.socksPort, RESOLVE_PTR, atypIpv4('127.0.0.1').fill(9, 4))).reply, failure(0x02), '127.0.0.9 is not opened')
})

t.test('requests the front refuses by itself', async (t) => {
  const before = cascade.exit.node.exitStats.resolvesAnswered + cascade.exit.node.exitStats.resolvesRefused
  t.same((await rawCommand(cascade.socksPort, RESOLVE_PTR, atypName('known.test'))).reply, failure(0x08), 'RESOLVE_PTR of a name: address type not supported')
  t.same((await rawCommand(cascade.socksPort, RESOLVE, atypName('bad name'))).reply, failure(0x01), 'a name with a space never leaves')
  const literal = await rawCommand(cascade.socksPort, RESOLVE, atypIpv4('192.0.2.9'))
  t.same(literal.reply, Buffer.from([0x05, 0x00, 0x00, 0x01, 192, 0, 2, 9, 0, 0]), 'RESOLVE of an address is answered with it, as Tor does')
  t.equal(cascade.exit.node.exitStats.resolvesAnswered + cascade.exit.node.exitStats.resolvesRefused, before, 'none of these reached the exit')
  const counters = cascade.client.node.socksCounters
  t.ok((counters.resolved ?? 0) >= 5, 'the front counts its answers')
})

t.test('a front without a RESOLVE handler refuses it with 0x07 (command not supported)', async (t) => {
  const front = new SocksFront({ host: '127.0.0.1', port: 0, auth: { none: true, userPass: false }, onConnect: (_request, pending) => { pending.reject(0x01) } })
  const { port } = await front.listen()
  t.teardown(() => front.close())
  t.same((await rawCommand(port, RESOLVE, atypName('known.test'))).reply, failure(0x07))
})

t.test('RESOLVE over SOCKS4a: the IPv4 answer in DSTIP; no IPv4 answer, or RESOLVE_PTR, is rejected', async (t) => {
  const socks4 = async (command: number, host: string): Promise<Buffer> => {
    const socket = await openSocket(cascade.socksPort)
    socket.on('error', () => {})
    const reader = new SocketReader(socket)
    try {
      socket.write(encodeSocks4Request({ command, host, port: 0, userId: 'tor-resolve' }))
      return await reader.read(8)
    } finally {
      socket.destroy()
    }
  }
  t.same(await socks4(RESOLVE, 'known.test'), Buffer.from([0x00, 0x5a, 0, 0, 127, 0, 0, 1]), 'granted, with 127.0.0.1')
  t.same(await socks4(RESOLVE, 'no-such.test'), Buffer.from([0x00, 0x5b, 0, 0, 0, 0, 0, 0]), 'an unknown name: rejected')
  t.same(await socks4(RESOLVE, 'v6only.test'), Buffer.from([0x00, 0x5b, 0, 0, 0, 0, 0, 0]), 'only an IPv6 answer: SOCKS4 has no room for it')
  t.same(await socks4(RESOLVE_PTR, 'known.test'), Buffer.from([0x00, 0x5b, 0, 0, 0, 0, 0, 0]), 'RESOLVE_PTR is SOCKS5 only')
})
