/**
 * The special-purpose range data and the BlockLists built from it: every row is well
 * formed and blocked at both ends, public addresses pass, the two families never mix,
 * and the BlockLists agree with a plain bit comparison over the data.
 */
import t from 'tap'
import fc from 'fast-check'
import { ipv4FromBytes, ipv6FromBytes, parseIpAddress, prefixContains, type IpAddress } from '../../src/exit/ip-address.js'
import {
  IPV4_SPECIAL_RANGES, IPV6_SPECIAL_RANGES, isSpecialPurpose, parseCidr, specialPurposeBlockLists,
} from '../../src/exit/special-ranges.js'

const rows = [...IPV4_SPECIAL_RANGES, ...IPV6_SPECIAL_RANGES].map(parseCidr)

/** The last address of a prefix: every host bit set. */
function lastAddress (network: IpAddress, bits: number): IpAddress {
  const bytes = Uint8Array.from(network.bytes)
  for (let bit = bits; bit < bytes.length * 8; bit++) bytes[bit >>> 3]! |= 0x80 >>> (bit & 7)
  return network.family === 4 ? ipv4FromBytes(bytes) : ipv6FromBytes(bytes)
}

t.test('the registries are all there, each row in its family\'s table', async (t) => {
  const v4 = IPV4_SPECIAL_RANGES.map((r) => r.cidr)
  for (const cidr of ['0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12',
    '192.0.0.0/24', '192.0.2.0/24', '192.31.196.0/24', '192.52.193.0/24', '192.88.99.0/24', '192.168.0.0/16',
    '192.175.48.0/24', '198.18.0.0/15', '198.51.100.0/24', '203.0.113.0/24', '224.0.0.0/4', '240.0.0.0/4',
    '255.255.255.255/32']) t.ok(v4.includes(cidr), cidr)
  const v6 = IPV6_SPECIAL_RANGES.map((r) => r.cidr)
  for (const cidr of ['::/128', '::1/128', '::ffff:0:0/96', '64:ff9b::/96', '64:ff9b:1::/48', '100::/64', '2001::/23',
    '2001::/32', '2001:db8::/32', '2002::/16', '3fff::/20', '5f00::/16', 'fc00::/7', 'fe80::/10', 'fec0::/10',
    'ff00::/8']) t.ok(v6.includes(cidr), cidr)
  for (const row of IPV4_SPECIAL_RANGES) t.equal(parseCidr(row).network.family, 4, row.cidr)
  for (const row of IPV6_SPECIAL_RANGES) t.equal(parseCidr(row).network.family, 6, row.cidr)
  for (const row of [...IPV4_SPECIAL_RANGES, ...IPV6_SPECIAL_RANGES]) {
    t.ok(row.name.length > 0 && row.reference.length > 0, `${row.cidr} is named and referenced`)
  }
})

t.test('the first and last address of every row are special', async (t) => {
  for (const { range, network, bits } of rows) {
    t.ok(isSpecialPurpose(network), `${range.cidr} first`)
    t.ok(isSpecialPurpose(lastAddress(network, bits)), `${range.cidr} last`)
  }
})

t.test('public addresses and the edges next to special rows are not special', async (t) => {
  for (const text of ['93.184.216.34', '1.1.1.1', '8.8.8.8', '9.255.255.255', '11.0.0.0', '100.63.255.255',
    '100.128.0.0', '172.15.255.255', '172.32.0.0', '198.17.255.255', '198.20.0.0', '223.255.255.255',
    '2606:4700::1111', '2a00:1450:4001::200e', '2001:200::1', '2001:4860:4860::8888', '3ffe::1', '2fff::1']) {
    t.notOk(isSpecialPurpose(text), text)
  }
})

t.test('IPv4 is never judged by the IPv6 list (Node maps IPv4 into ::ffff:0:0/96)', async (t) => {
  const { ipv4, ipv6 } = specialPurposeBlockLists()
  // The pitfall this split avoids: a mixed list reports every IPv4 address as blocked.
  t.ok(ipv6.check('93.184.216.34', 'ipv4'), 'Node itself matches IPv4 against the IPv6 rows')
  t.notOk(ipv4.check('93.184.216.34', 'ipv4'))
  t.notOk(isSpecialPurpose('93.184.216.34'))
  t.ok(isSpecialPurpose('::ffff:93.184.216.34'), 'the IPv4-mapped form is special itself')
})

t.test('text that is not a strict IP literal counts as special', async (t) => {
  for (const text of ['127.1', 'example.com', '', 'fe80::1%eth0']) t.ok(isSpecialPurpose(text), JSON.stringify(text))
})

t.test('property: the BlockLists agree with a bit comparison over the rows', async (t) => {
  const { ipv4, ipv6 } = specialPurposeBlockLists()
  const naive = (address: IpAddress): boolean =>
    rows.some(({ network, bits }) => prefixContains(network, bits, address))
  // Addresses near row boundaries are the interesting ones: start from a row's network
  // address and flip a few random bits.
  const nearRow = fc.tuple(fc.nat(rows.length - 1), fc.array(fc.nat(127), { maxLength: 3 })).map(([index, flips]) => {
    const { network } = rows[index]!
    const bytes = Uint8Array.from(network.bytes)
    for (const flip of flips) { const bit = flip % (bytes.length * 8); bytes[bit >>> 3]! ^= 0x80 >>> (bit & 7) }
    return network.family === 4 ? ipv4FromBytes(bytes) : ipv6FromBytes(bytes)
  })
  const anyAddress = fc.oneof(
    fc.uint8Array({ minLength: 4, maxLength: 4 }).map(ipv4FromBytes),
    fc.uint8Array({ minLength: 16, maxLength: 16 }).map(ipv6FromBytes),
  )
  fc.assert(fc.property(fc.oneof(nearRow, anyAddress), (address) => {
    const listed = address.family === 4 ? ipv4.check(address.text, 'ipv4') : ipv6.check(address.text, 'ipv6')
    return listed === naive(address) && isSpecialPurpose(address) === listed &&
      parseIpAddress(address.text) !== undefined
  }), { numRuns: 5000 })
  t.pass('5000 addresses agree')
})
