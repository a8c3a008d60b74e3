/**
 * The exit's IP literal parser: strict forms only, every IPv6 spelling to the same bytes,
 * RFC 5952 output, and prefix matching.
 */
import net from 'node:net'
import t from 'tap'
import fc from 'fast-check'
import { hasHostBits, parseIpAddress, prefixContains } from '../../src/exit/ip-address.js'

function mustParse (text: string): NonNullable<ReturnType<typeof parseIpAddress>> {
  const address = parseIpAddress(text)
  if (address === undefined) throw new Error(`${text} should parse`)
  return address
}

t.test('IPv4 dotted quads parse to their bytes', async (t) => {
  t.same([...mustParse('127.0.0.1').bytes], [127, 0, 0, 1])
  t.same([...mustParse('255.255.255.255').bytes], [255, 255, 255, 255])
  t.equal(mustParse('10.1.2.3').family, 4)
  t.equal(mustParse('10.1.2.3').text, '10.1.2.3')
})

t.test('inet_aton shorthands and other non-strict forms are not addresses', async (t) => {
  for (const text of ['127.1', '127.0.1', '0x7f.0.0.1', '0177.0.0.1', '2130706433', '127.0.0.01',
    ' 127.0.0.1', '127.0.0.1 ', '256.0.0.1', '1.2.3.4.5', '', 'localhost', '[::1]', '::1/128',
    'fe80::1%eth0', 'fe80::1%1', '1::2::3', ':::1', '::ffff:127.1', '12345::1']) {
    t.equal(parseIpAddress(text), undefined, JSON.stringify(text))
  }
})

t.test('every spelling of an IPv6 address gives the same bytes and RFC 5952 text', async (t) => {
  const loopbackMapped = ['::ffff:127.0.0.1', '::ffff:7f00:1', '0:0:0:0:0:ffff:7f00:0001', '::FFFF:7F00:1',
    '0000:0000:0000:0000:0000:ffff:127.0.0.1']
  for (const text of loopbackMapped) {
    const address = mustParse(text)
    t.equal(address.family, 6, text)
    t.same([...address.bytes], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1], text)
    t.equal(address.text, '::ffff:7f00:1', text)
  }
  t.equal(mustParse('::').text, '::')
  t.equal(mustParse('::1').text, '::1')
  t.equal(mustParse('1::').text, '1::')
  t.equal(mustParse('2001:db8:0:0:1:0:0:1').text, '2001:db8::1:0:0:1', 'first longest zero run')
  t.equal(mustParse('2001:0db8:0:1:1:1:1:1').text, '2001:db8:0:1:1:1:1:1', 'a single zero group stays')
  t.equal(mustParse('1:2:3:4:5:6:7::').text, '1:2:3:4:5:6:7:0')
  t.equal(mustParse('::2:3:4:5:6:7:8').text, '0:2:3:4:5:6:7:8')
  t.equal(mustParse('::127.0.0.1').text, '::7f00:1')
  t.equal(mustParse('1:2:3:4:5:6:1.2.3.4').text, '1:2:3:4:5:6:102:304')
})

t.test('property: parsing agrees with the kernel\'s inet_pton/inet_ntop (net.SocketAddress)', async (t) => {
  const groups = fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 })
  fc.assert(fc.property(groups, fc.boolean(), (words, dottedTail) => {
    let text = words.map((w) => w.toString(16)).join(':')
    if (dottedTail) {
      const low = words.slice(6)
      text = `${words.slice(0, 6).map((w) => w.toString(16)).join(':')}:${low[0]! >> 8}.${low[0]! & 0xff}.${low[1]! >> 8}.${low[1]! & 0xff}`
    }
    const ours = mustParse(text)
    const expected = words.flatMap((w) => [w >> 8, w & 0xff])
    if (JSON.stringify([...ours.bytes]) !== JSON.stringify(expected)) return false
    // The kernel's normal form names the same address as ours (parse it back to compare).
    const kernel = new net.SocketAddress({ address: text, family: 'ipv6' }).address
    return mustParse(kernel).text === ours.text && mustParse(ours.text).text === ours.text
  }), { numRuns: 2000 })
  t.pass('2000 random addresses agree')
})

t.test('prefixContains compares bits, never across families', async (t) => {
  const net10 = mustParse('10.0.0.0')
  t.ok(prefixContains(net10, 8, mustParse('10.255.1.2')))
  t.notOk(prefixContains(net10, 8, mustParse('11.0.0.0')))
  const cgnat = mustParse('100.64.0.0')
  t.ok(prefixContains(cgnat, 10, mustParse('100.127.255.255')))
  t.notOk(prefixContains(cgnat, 10, mustParse('100.128.0.0')))
  t.ok(prefixContains(mustParse('fe80::'), 10, mustParse('febf::1')))
  t.notOk(prefixContains(mustParse('fe80::'), 10, mustParse('fec0::1')))
  t.ok(prefixContains(mustParse('0.0.0.0'), 0, mustParse('93.184.216.34')), '/0 matches its family')
  t.notOk(prefixContains(mustParse('::'), 0, mustParse('127.0.0.1')), 'an IPv6 prefix never matches IPv4')
  t.notOk(prefixContains(mustParse('127.0.0.0'), 8, mustParse('::ffff:127.0.0.1')), 'nor IPv4 an IPv6 address')
})

t.test('hasHostBits finds bits after the prefix', async (t) => {
  t.notOk(hasHostBits(mustParse('10.0.0.0'), 8))
  t.ok(hasHostBits(mustParse('10.1.0.0'), 8))
  t.notOk(hasHostBits(mustParse('2001:db8::'), 32))
  t.ok(hasHostBits(mustParse('2001:db8::1'), 32))
  t.notOk(hasHostBits(mustParse('::1'), 128))
})
