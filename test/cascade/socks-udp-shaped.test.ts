/**
 * UDP ASSOCIATE under shaping (PROTOCOL.md §7.3 "Shaping"): through a `strict` cascade on
 * loopback, a DNS query sent with node:dgram through the client's relay is answered, the
 * datagrams riding the circuits' scheduled slots like any relay payload; every cell the
 * client writes to the entry is a full cell, as without UDP.
 */
import t from 'tap'
import dgram from 'node:dgram'
import { once } from 'node:events'
import { cryptoReady } from '../../src/crypto/index.js'
import { DEFAULT_SHAPING } from '../../src/protocol/shaping.js'
import { startCascade } from '../helpers/cascade.js'
import { startDnsServer } from '../exit/helpers/dns-server.js'
import { dnsQuery, rawAssociate, socksUdp } from '../helpers/socks-udp.js'

await cryptoReady()

const dns = await startDnsServer({ 'known.test': { a: ['127.0.0.1'] } })
t.teardown(() => dns.close())
const dnsPort = Number(dns.server.split(':')[1])
const sizes = new Set<number>()
const cascade = await startCascade({
  roundMs: 10,
  cellSize: 2048,
  shaping: DEFAULT_SHAPING.strict,
  dnsServers: [dns.server],
  client: { observeWrites: (cells) => { for (const cell of cells) sizes.add(cell.length) } },
})
t.teardown(() => cascade.stop())

t.test('a DNS query over UDP through a strict cascade', async (t) => {
  const { control, reply, relayPort } = await rawAssociate(cascade.socksPort)
  t.teardown(() => control.destroy())
  t.equal(reply[1], 0x00, 'associated')
  const app = dgram.createSocket('udp4')
  await new Promise<void>((resolve) => app.bind(0, '127.0.0.1', resolve))
  t.teardown(() => app.close())
  app.send(socksUdp(dnsPort, dnsQuery(0x4242, 'known.test')), relayPort, '127.0.0.1')
  const [answer] = await once(app, 'message') as [Buffer]
  t.equal(answer.readUInt16BE(10), 0x4242, 'answered')
  t.same([...answer.subarray(answer.length - 4)], [127, 0, 0, 1], 'A 127.0.0.1')
  t.same([...sizes], [2048], 'every cell the client wrote was a full 2048-byte cell')
})
