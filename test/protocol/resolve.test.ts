/**
 * RESOLVE and RESOLVED bodies (src/protocol/resolve.ts, PROTOCOL.md §7.2): exact bytes, round
 * trips, every malformed body refused with PROTO_RELAY_BAD_ADDRESS (random bytes throw only
 * ProtocolError), answers cut to what fits one payload, and the client's reading of an
 * answer (the first address for a name, the name for an address, nothing for the wrong kind).
 */
import t from 'tap'
import fc from 'fast-check'
import { ProtocolError, ProtocolErrorCode } from '../../src/protocol/errors.js'
import { AddressType } from '../../src/protocol/relay-address.js'
import { decodeResolve, decodeResolved, encodeResolve, encodeResolved } from '../../src/protocol/resolve.js'
import { resolvedAnswer } from '../../src/client/opening-streams.js'

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')
const BAD = { code: ProtocolErrorCode.RELAY_BAD_ADDRESS }

t.test('RESOLVE: a name asks for addresses, an address for its name; exact bytes', async (t) => {
  t.equal(hex(encodeResolve('example.com')), '030b' + Buffer.from('example.com').toString('hex'))
  t.equal(hex(encodeResolve('192.0.2.1')), '01c0000201')
  t.equal(hex(encodeResolve('2001:db8::1')), '04' + '20010db8000000000000000000000001')
  t.same(decodeResolve(encodeResolve('example.com')), { host: 'example.com', reverse: false })
  t.same(decodeResolve(encodeResolve('192.0.2.1')), { host: '192.0.2.1', reverse: true })
  t.same(decodeResolve(encodeResolve('2001:db8::1')), { host: '2001:db8:0:0:0:0:0:1', reverse: true })
})

t.test('RESOLVE: malformed bodies are refused', async (t) => {
  t.throws(() => decodeResolve(new Uint8Array(0)), BAD, 'empty')
  t.throws(() => decodeResolve(Uint8Array.of(3, 0)), BAD, 'empty name')
  t.throws(() => decodeResolve(Uint8Array.of(3, 5, 0x61)), BAD, 'name shorter than its length')
  t.throws(() => decodeResolve(Uint8Array.of(1, 1, 2, 3)), BAD, 'truncated IPv4')
  t.throws(() => decodeResolve(Uint8Array.of(1, 1, 2, 3, 4, 0)), BAD, 'a byte after the address')
  t.throws(() => decodeResolve(Uint8Array.of(2, 1, 2, 3, 4)), BAD, 'unknown address type')
  t.throws(() => decodeResolve(Uint8Array.of(3, 2, 0x61, 0x0a)), BAD, 'a control byte in the name')
  t.throws(() => encodeResolve('a'.repeat(256)), BAD, 'a name over 255 bytes cannot be encoded')
  t.throws(() => encodeResolve('two words'), BAD)
})

t.test('RESOLVED: addresses or one name, cut to what fits', async (t) => {
  const body = encodeResolved(['127.0.0.1', '2001:db8::5'], 100)
  t.equal(hex(body), '017f000001' + '0420010db8000000000000000000000005')
  t.same(decodeResolved(body), [
    { addressType: AddressType.IPV4, host: '127.0.0.1' },
    { addressType: AddressType.IPV6, host: '2001:db8:0:0:0:0:0:5' },
  ])
  t.same(decodeResolved(encodeResolved(['host.test'], 100)), [{ addressType: AddressType.HOSTNAME, host: 'host.test' }])
  t.equal(encodeResolved(['10.0.0.1', '10.0.0.2', '10.0.0.3'], 12).length, 10, 'only the answers that fit')
  t.throws(() => encodeResolved(['2001:db8::5'], 16), { code: ProtocolErrorCode.RELAY_BAD_LENGTH }, 'not even one fits')
  t.throws(() => encodeResolved(['host.test', '127.0.0.1'], 100), BAD, 'a name and an address')
  t.throws(() => decodeResolved(new Uint8Array(0)), BAD, 'no answer')
  t.throws(() => decodeResolved(Uint8Array.of(1, 127, 0, 0, 1, 1, 10)), BAD, 'a truncated second answer')
  t.throws(() => decodeResolved(Uint8Array.of(3, 1, 0x61, 3, 1, 0x62)), BAD, 'two names')
  t.throws(() => decodeResolved(Uint8Array.of(3, 1, 0x61, 1, 1, 2, 3, 4)), BAD, 'a name and an address')
})

t.test('decoders fed random bytes throw only ProtocolError', async (t) => {
  const only = (fn: () => unknown): boolean => { try { fn(); return true } catch (err) { return err instanceof ProtocolError } }
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => only(() => decodeResolve(bytes)) && only(() => decodeResolved(bytes))), { numRuns: 500 })
  fc.assert(fc.property(fc.domain(), (host) => host.length > 255 || decodeResolve(encodeResolve(host)).host === host))
  t.pass()
})

t.test('the client reads the first address for a name, the name for an address, and nothing else', async (t) => {
  t.equal(resolvedAnswer(encodeResolved(['192.0.2.1', '2001:db8::1'], 100), false), '192.0.2.1')
  t.equal(resolvedAnswer(encodeResolved(['host.test'], 100), true), 'host.test')
  t.equal(resolvedAnswer(encodeResolved(['host.test'], 100), false), undefined, 'a name where addresses were asked for')
  t.equal(resolvedAnswer(encodeResolved(['192.0.2.1'], 100), true), undefined, 'an address where a name was asked for')
  t.equal(resolvedAnswer(Uint8Array.of(9, 9), false), undefined, 'malformed')
})
