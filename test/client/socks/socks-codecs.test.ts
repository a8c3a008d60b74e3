/**
 * The front door's own decoders as specifications: the SOCKS request and the RFC 1929
 * request decode whole, wait (undefined) on every strict prefix, leave what follows alone,
 * and on anything at all either decode, wait, or throw a SocksError; IPv6 text is RFC 5952
 * (checked against the WHATWG URL serializer); replies are the fixed 10-byte form.
 */
import t from 'tap'
import fc from 'fast-check'
import { selectMethod } from '../../../src/client/socks/greeting.js'
import { SocksError } from '../../../src/client/socks/socks-error.js'
import { encodeReply, encodeResolveReply } from '../../../src/client/socks/socks-reply.js'
import { MAX_REQUEST_BYTES, decodeRequest } from '../../../src/client/socks/socks-request.js'
import { formatIPv6 } from '../../../src/base/ipv6-text.js'
import { MAX_USER_PASS_BYTES, decodeUserPass } from '../../../src/client/socks/user-pass.js'
import { domainRequest, expectedReply, ipv4Request, ipv6Request, userPassRequest } from './harness.js'

function onlySocksErrors (fn: () => unknown): boolean {
  try { fn(); return true } catch (err) { return err instanceof SocksError }
}

const hostname = fc.stringMatching(/^[A-Za-z0-9_.-]{1,255}$/)

t.test('decodeRequest: domain, IPv4 and IPv6 requests decode with their length; trailing bytes untouched', async (t) => {
  const tail = Buffer.from('GET / HTTP/1.1\r\n')
  const domain = domainRequest('example.com', 443)
  t.same(decodeRequest(Buffer.concat([domain, tail])), {
    value: { command: 1, addressType: 'hostname', host: 'example.com', port: 443 }, bytesRead: domain.length,
  })
  t.same(decodeRequest(ipv4Request([192, 0, 2, 1], 80, 0x02)), {
    value: { command: 2, addressType: 'ipv4', host: '192.0.2.1', port: 80 }, bytesRead: 10,
  })
  t.same(decodeRequest(ipv6Request([0xfe, 0x80, ...new Array(13).fill(0), 0x01], 65535))?.value.host, 'fe80::1')
  t.equal(MAX_REQUEST_BYTES, domainRequest('a'.repeat(255), 1).length, 'the largest request')
})

t.test('decodeRequest property: every strict prefix waits, the whole decodes, extra bytes are not read', async (t) => {
  fc.assert(fc.property(hostname, fc.integer({ min: 1, max: 65535 }), fc.uint8Array({ maxLength: 64 }), (host, port, extra) => {
    const request = domainRequest(host, port)
    for (let i = 0; i < request.length; i++) if (decodeRequest(request.subarray(0, i)) !== undefined) return false
    const decoded = decodeRequest(Buffer.concat([request, extra]))
    return decoded !== undefined && decoded.bytesRead === request.length && decoded.value.host === host && decoded.value.port === port
  }), { numRuns: 300 })
  t.pass('prefixes wait, wholes decode')
})

t.test('decodeRequest property: arbitrary bytes decode, wait, or throw a SocksError with a REP', async (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: MAX_REQUEST_BYTES }), (bytes) => onlySocksErrors(() => decodeRequest(bytes))), { numRuns: 2000 })
  fc.assert(fc.property(fc.uint8Array({ maxLength: MAX_REQUEST_BYTES }), (noise) => {
    const bytes = Buffer.concat([Buffer.from([0x05, 0x01, 0x00]), noise])
    try { decodeRequest(bytes); return true } catch (err) { return err instanceof SocksError && err.rep !== undefined }
  }), { numRuns: 2000 })
  t.pass('never another exception')
})

t.test('decodeRequest refusals carry the REP to send', async (t) => {
  const cases: Array<[string, Buffer, string, number]> = [
    ['bad version', Buffer.from([0x04, 0x01, 0x00, 0x01]), 'SOCKS_BAD_VERSION', 0x01],
    ['RSV not 0', Buffer.from([0x05, 0x01, 0x07, 0x01]), 'SOCKS_MALFORMED', 0x01],
    ['empty name', Buffer.from([0x05, 0x01, 0x00, 0x03, 0x00]), 'SOCKS_MALFORMED', 0x01],
    ['ATYP 2', Buffer.from([0x05, 0x01, 0x00, 0x02]), 'SOCKS_ADDRESS_TYPE_UNSUPPORTED', 0x08],
    ['port 0', ipv4Request([1, 2, 3, 4], 0), 'SOCKS_BAD_ADDRESS', 0x01],
    ['name with "/"', domainRequest('a/b', 80), 'SOCKS_BAD_ADDRESS', 0x01],
    ['name with UTF-8', domainRequest('bücher.example', 80), 'SOCKS_BAD_ADDRESS', 0x01],
  ]
  for (const [name, bytes, code, rep] of cases) t.throws(() => decodeRequest(bytes), { code, rep }, name)
})

t.test('formatIPv6 is RFC 5952: same text as the WHATWG URL serializer for any address', async (t) => {
  const zeroHeavy = fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 })
  fc.assert(fc.property(zeroHeavy, (groups) => {
    const bytes = new Uint8Array(16)
    groups.forEach((g, i) => { bytes[2 * i] = g >>> 8; bytes[2 * i + 1] = g & 0xff })
    const text = formatIPv6(bytes)
    return text === new URL(`http://[${text}]/`).hostname.slice(1, -1)
  }), { numRuns: 2000 })
  t.equal(formatIPv6(new Uint8Array(16)), '::')
  t.equal(formatIPv6(Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1])), '2001:db8:0:1::1', 'longest run wins')
  t.equal(formatIPv6(Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1])), '2001:db8:0:1:1:1:1:1', 'a single zero group is not compressed')
})

t.test('decodeUserPass: any credentials (empty too), prefixes wait, malformed ones throw SOCKS_AUTH_FAILED', async (t) => {
  const short = fc.string({ maxLength: 60 }).filter((s) => Buffer.byteLength(s) <= 255)
  fc.assert(fc.property(short, short, fc.uint8Array({ maxLength: 16 }), (username, password, extra) => {
    const request = userPassRequest(username, password)
    for (let i = 0; i < request.length; i++) if (decodeUserPass(request.subarray(0, i)) !== undefined) return false
    const decoded = decodeUserPass(Buffer.concat([request, extra]))
    return decoded?.bytesRead === request.length && decoded.value.username === username && decoded.value.password === password
  }), { numRuns: 500 })
  t.same(decodeUserPass(userPassRequest('', ''))?.value, { username: '', password: '' })
  t.equal(MAX_USER_PASS_BYTES, userPassRequest('u'.repeat(255), 'p'.repeat(255)).length)
  t.throws(() => decodeUserPass(Buffer.from([0x05])), { code: 'SOCKS_AUTH_FAILED' })
  t.throws(() => decodeUserPass(Buffer.from([0x01, 0x02, 0xc3, 0x28, 0x00])), { code: 'SOCKS_AUTH_FAILED' }, 'invalid UTF-8 is refused, not replaced')
  fc.assert(fc.property(fc.uint8Array({ maxLength: MAX_USER_PASS_BYTES }), (bytes) => onlySocksErrors(() => decodeUserPass(bytes))), { numRuns: 2000 })
})

t.test('selectMethod follows Tor; encodeReply is the fixed 10-byte form', async (t) => {
  const both = { none: true, userPass: true }
  t.equal(selectMethod(Uint8Array.of(0x00, 0x02), both), 0x02)
  t.equal(selectMethod(Uint8Array.of(0x02, 0x00), { none: true, userPass: false }), 0x00)
  t.equal(selectMethod(Uint8Array.of(0x00), { none: false, userPass: true }), undefined)
  t.equal(selectMethod(Uint8Array.of(0x01, 0x80), both), undefined)
  for (const rep of [0x00, 0x01, 0x05, 0x08, 0xf7]) t.same(encodeReply(rep), expectedReply(rep))
})

t.test('RESOLVE replies carry the answer (Tor\'s form), port 0; anything else is refused before a byte is sent', async (t) => {
  t.same(encodeResolveReply('192.0.2.1'), Buffer.from([5, 0, 0, 1, 192, 0, 2, 1, 0, 0]))
  t.same(encodeResolveReply('::1'), Buffer.from([5, 0, 0, 4, ...new Array(15).fill(0), 1, 0, 0]))
  t.same(encodeResolveReply('a.test'), Buffer.from([5, 0, 0, 3, 6, ...Buffer.from('a.test'), 0, 0]))
  for (const bad of ['', 'two words', 'x'.repeat(256), 'caf\u00e9.test', 'line\nbreak']) {
    t.throws(() => encodeResolveReply(bad), { code: 'SOCKS_INVALID_USE' }, JSON.stringify(bad).slice(0, 20))
  }
  // Port 0 is refused for CONNECT, accepted for RESOLVE (0xF0) and RESOLVE_PTR (0xF1).
  t.throws(() => decodeRequest(Buffer.from([5, 1, 0, 1, 127, 0, 0, 1, 0, 0])), { code: 'SOCKS_BAD_ADDRESS' })
  t.same(decodeRequest(Buffer.from([5, 0xf0, 0, 3, 1, 0x61, 0, 0]))?.value, { command: 0xf0, addressType: 'hostname', host: 'a', port: 0 })
  t.same(decodeRequest(Buffer.from([5, 0xf1, 0, 1, 127, 0, 0, 1, 0, 0]))?.value, { command: 0xf1, addressType: 'ipv4', host: '127.0.0.1', port: 0 })
})
