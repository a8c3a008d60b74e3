/**
 * SOCKS5 UDP ASSOCIATE (RFC 1928 §7) through a real loopback cascade: a DNS query over UDP,
 * built by hand and sent with node:dgram through the client's UDP relay, reaches a small DNS
 * server on 127.0.0.1 from the exit's own UDP socket, and its answer comes back with the
 * RFC's header naming the server. A destination the exit policy refuses gets nothing; the
 * client drops datagrams from any other port than the app's and fragments (FRAG ≠ 0); the
 * association ends with the app's TCP connection, and the exit closes its socket.
 */
import t from 'tap'
import dgram from 'node:dgram'
import { once } from 'node:events'
import { cryptoReady } from '../../src/crypto/index.js'
import { startCascade, waitFor } from '../helpers/cascade.js'
import { startDnsServer } from '../exit/helpers/dns-server.js'
import { dnsQuery, rawAssociate, socksUdp } from '../helpers/socks-udp.js'

await cryptoReady()

const dns = await startDnsServer({ 'known.test': { a: ['127.0.0.1'] } })
t.teardown(() => dns.close())
const dnsPort = Number(dns.server.split(':')[1])
const cascade = await startCascade({ dnsServers: [dns.server] })
t.teardown(() => cascade.stop())
const exitStats = cascade.exit.node.exitStats

async function udpSocket (): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4')
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  t.teardown(() => { try { socket.close() } catch {} })
  return socket
}

t.test('a DNS query over UDP goes out from the exit and its answer comes back', async (t) => {
  const { control, reply, relayPort } = await rawAssociate(cascade.socksPort)
  t.teardown(() => control.destroy())
  t.same(reply.subarray(0, 8), Buffer.from([0x05, 0x00, 0x00, 0x01, 127, 0, 0, 1]), 'success, the relay on 127.0.0.1')
  t.ok(relayPort > 0, 'and a port')
  const app = await udpSocket()
  const asked = dns.questions.length
  app.send(socksUdp(dnsPort, dnsQuery(0x1234, 'known.test')), relayPort, '127.0.0.1')
  const [answer] = await once(app, 'message') as [Buffer, dgram.RemoteInfo]
  t.same(answer.subarray(0, 10), Buffer.from([0, 0, 0, 0x01, 127, 0, 0, 1, dnsPort >>> 8, dnsPort & 0xff]), 'the RFC 1928 header names the DNS server')
  const message = answer.subarray(10)
  t.equal(message.readUInt16BE(0), 0x1234, 'the answer to our query')
  t.equal(message.readUInt16BE(6), 1, 'one answer record')
  t.same([...message.subarray(message.length - 4)], [127, 0, 0, 1], 'A 127.0.0.1')
  t.ok(dns.questions.slice(asked).some((q) => q.name === 'known.test'), 'the server saw the query')
  t.ok(exitStats.datagramsToHosts >= 1 && exitStats.datagramsFromHosts >= 1, 'the exit counted both ways')
})

t.test('refused destinations, strangers and fragments are dropped', async (t) => {
  const { control, relayPort } = await rawAssociate(cascade.socksPort)
  t.teardown(() => control.destroy())
  const app = await udpSocket()
  const stranger = await udpSocket()
  const clientStats = cascade.client.node.stats
  const exitDropped = exitStats.datagramsDropped
  app.send(socksUdp(dnsPort, dnsQuery(1, 'known.test'), { last: 2 }), relayPort, '127.0.0.1')
  await waitFor(() => exitStats.datagramsDropped === exitDropped + 1, 'the exit to drop 127.0.0.2 (policy)')
  const clientDropped = clientStats.datagramsDropped
  stranger.send(socksUdp(dnsPort, dnsQuery(2, 'known.test')), relayPort, '127.0.0.1')
  await waitFor(() => clientStats.datagramsDropped === clientDropped + 1, 'the client to drop another port')
  app.send(socksUdp(dnsPort, dnsQuery(3, 'known.test'), { frag: 1 }), relayPort, '127.0.0.1')
  await waitFor(() => clientStats.datagramsDropped === clientDropped + 2, 'the client to drop a fragment')
  // The app's own port still works, and only its query is answered.
  app.send(socksUdp(dnsPort, dnsQuery(4, 'known.test')), relayPort, '127.0.0.1')
  const [answer] = await once(app, 'message') as [Buffer]
  t.equal(answer.readUInt16BE(10), 4, 'the answer to query 4, the only one that went out')
})

t.test('the association ends with its TCP connection, and the exit closes its socket', async (t) => {
  // The earlier tests' TCP connections are closed by now: their associations end too.
  await waitFor(() => exitStats.outboundSockets.active === 0, 'the earlier associations to end')
  const { control, relayPort } = await rawAssociate(cascade.socksPort)
  const app = await udpSocket()
  app.send(socksUdp(dnsPort, dnsQuery(5, 'known.test')), relayPort, '127.0.0.1')
  await once(app, 'message')
  t.equal(exitStats.outboundSockets.active, 1, 'the exit holds a UDP socket for it')
  control.destroy()
  await waitFor(() => exitStats.outboundSockets.active === 0, 'the exit to close the association\'s socket')
  t.pass('closed')
})
