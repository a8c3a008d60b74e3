/**
 * Property: an IPv4 address in any special-purpose range, wrapped in any IPv6 embedding,
 * is refused by the default policy, and still refused when the operator has opened every
 * wrapping prefix in front of the default. The converse guards against refusing too much:
 * a public IPv4 address wrapped the same way passes once its wrapper is opened.
 */
import t from 'tap'
import fc from 'fast-check'
import { ipv6FromBytes, type IpAddress } from '../../src/exit/ip-address.js'
import { buildExitPolicy, DEFAULT_PORT_REJECTS, parseExitPolicy } from '../../src/exit/policy.js'
import { IPV4_SPECIAL_RANGES, isSpecialPurpose, parseCidr } from '../../src/exit/special-ranges.js'

type V4 = [number, number, number, number]
type Wrap = (v4: V4, noise: Uint8Array) => IpAddress

/** Every embedding of embedded-ipv4.ts; `noise` fills the bits each form leaves free. */
const wraps: Record<string, Wrap> = {
  'ipv4-mapped': (v4) => v6([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...v4]),
  'ipv4-compatible': (v4) => v6([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...v4]),
  'ipv4-translated': (v4) => v6([0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, ...v4]),
  nat64: (v4) => v6([0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, ...v4]),
  'nat64-local/48': (v4, n) => v6([0, 0x64, 0xff, 0x9b, 0, 1, v4[0], v4[1], 0, v4[2], v4[3], n[0]!, n[1]!, n[2]!, n[3]!, n[4]!]),
  'nat64-local/56': (v4, n) => v6([0, 0x64, 0xff, 0x9b, 0, 1, n[0]!, v4[0], 0, v4[1], v4[2], v4[3], n[1]!, n[2]!, n[3]!, n[4]!]),
  'nat64-local/64': (v4, n) => v6([0, 0x64, 0xff, 0x9b, 0, 1, n[0]!, n[1]!, 0, ...v4, n[2]!, n[3]!, n[4]!]),
  'nat64-local/96': (v4, n) => v6([0, 0x64, 0xff, 0x9b, 0, 1, n[0]!, n[1]!, n[2]!, n[3]!, n[4]!, n[5]!, ...v4]),
  '6to4': (v4, n) => v6([0x20, 0x02, ...v4, n[0]!, n[1]!, n[2]!, n[3]!, n[4]!, n[5]!, n[6]!, n[7]!, n[8]!, n[9]!]),
  // A public server (93.184.216.34), the client obfuscated.
  'teredo-client': (v4, n) => v6([0x20, 0x01, 0, 0, 93, 184, 216, 34, n[0]!, n[1]!, n[2]!, n[3]!, ...v4.map((b) => b ^ 0xff)]),
  // The client public (93.184.216.34, obfuscated), the server wrapped.
  'teredo-server': (v4, n) => v6([0x20, 0x01, 0, 0, ...v4, n[0]!, n[1]!, n[2]!, n[3]!, ...[93, 184, 216, 34].map((b) => b ^ 0xff)]),
}

function v6 (bytes: number[]): IpAddress {
  return ipv6FromBytes(Uint8Array.from(bytes))
}

const specialRows = IPV4_SPECIAL_RANGES.map(parseCidr)

/** A random address inside a random special-purpose IPv4 row. */
const specialIpv4 = fc.tuple(fc.nat(specialRows.length - 1), fc.nat(0xffffffff)).map(([index, random]): V4 => {
  const { network, bits } = specialRows[index]!
  const base = ((network.bytes[0]! << 24) | (network.bytes[1]! << 16) | (network.bytes[2]! << 8) | network.bytes[3]!) >>> 0
  const hostMask = bits === 0 ? 0xffffffff : (2 ** (32 - bits)) - 1
  const value = (base | (random & hostMask)) >>> 0
  return [value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff]
})

const publicIpv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255))
  .map((bytes): V4 => bytes)
  .filter((bytes) => !isSpecialPurpose(bytes.join('.')))

const noise = fc.uint8Array({ minLength: 10, maxLength: 10 })
const anyPort = fc.integer({ min: 1, max: 65535 })

const rejectedPorts = parseExitPolicy(DEFAULT_PORT_REJECTS)
const openPort = anyPort.filter((port) => !rejectedPorts.rules.some((r) => port >= r.portMin && port <= r.portMax))

const defaultPolicy = buildExitPolicy({ operatorRules: [], cascadeAddresses: [] })
const wrappersOpened = buildExitPolicy({
  operatorRules: [
    'accept [::ffff:0:0]/96:*', 'accept [::]/96:*', 'accept [::ffff:0:0:0]/96:*', 'accept [64:ff9b::]/96:*',
    'accept [64:ff9b:1::]/48:*', 'accept [2002::]/16:*', 'accept [2001::]/32:*',
  ],
  cascadeAddresses: [],
})

for (const [form, wrap] of Object.entries(wraps)) {
  t.test(`a special-purpose IPv4 address inside ${form} is refused`, async (t) => {
    fc.assert(fc.property(specialIpv4, noise, anyPort, (v4, bits, port) => {
      // `::` and `::1` are themselves, not IPv4-compatible 0.0.0.0/0.0.0.1 (RFC 4291):
      // opening [::]/96 opens them on purpose.
      fc.pre(!(form === 'ipv4-compatible' && v4[0] === 0 && v4[1] === 0 && v4[2] === 0 && v4[3]! <= 1))
      const address = wrap(v4, bits)
      return !defaultPolicy.allows(address.text, port) && !wrappersOpened.allows(address.text, port)
    }), { numRuns: 300 })
    t.pass('300 random cases refused by the default and with every wrapper opened')
  })
}

// nat64-local is left out here: it is read at four positions, so random bits elsewhere
// may spell a special address at another one, which is refused on purpose.
for (const form of Object.keys(wraps).filter((name) => !name.startsWith('nat64-local'))) {
  t.test(`a public IPv4 address inside ${form} passes once ${form} is opened`, async (t) => {
    fc.assert(fc.property(publicIpv4, noise, openPort, (v4, bits, port) => {
      const address = wraps[form]!(v4, bits)
      return wrappersOpened.allows(address.text, port) && !defaultPolicy.allows(address.text, port)
    }), { numRuns: 200 })
    t.pass('200 random cases allowed')
  })
}
