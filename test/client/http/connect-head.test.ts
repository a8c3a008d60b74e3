/**
 * The CONNECT head decoder as a specification: a head decodes whole with its length, waits
 * (undefined) on every strict prefix, leaves what follows alone; other methods are 405 as
 * soon as the request line is complete; anything at all decodes, waits, or throws an
 * HttpFrontError carrying a status; nothing past 8 KiB is ever needed; Basic credentials
 * become the SOCKS5-style username and password.
 */
import t from 'tap'
import fc from 'fast-check'
import { MAX_HEAD_BYTES, decodeConnectHead } from '../../../src/client/http/connect-head.js'
import { HttpFrontError } from '../../../src/client/http/http-error.js'

const head = (text: string): Buffer => Buffer.from(text, 'latin1')
const basic = (userPass: string): string => `Basic ${Buffer.from(userPass).toString('base64')}`
const hostname = fc.stringMatching(/^[A-Za-z0-9_.-]{1,255}$/).filter((h) => !/^\d+\.\d+\.\d+\.\d+$/.test(h))

t.test('heads decode with their length; early data after them is left alone', async (t) => {
  const text = 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nUser-Agent: curl\r\n\r\n'
  t.same(decodeConnectHead(head(text + 'early')), {
    value: { host: 'example.com', port: 443, addressType: 'hostname' }, bytesRead: text.length,
  })
  t.same(decodeConnectHead(head('CONNECT 192.0.2.1:80 HTTP/1.0\n\n'))?.value, { host: '192.0.2.1', port: 80, addressType: 'ipv4' }, 'bare LF lines, HTTP/1.0')
  t.same(decodeConnectHead(head('CONNECT [2001:DB8:0:0::1]:8443 HTTP/1.1\r\n\r\n'))?.value,
    { host: '2001:db8::1', port: 8443, addressType: 'ipv6' }, 'IPv6 in brackets, as RFC 5952 text')
  t.same(decodeConnectHead(head(`CONNECT a.test:1 HTTP/1.1\r\nproxy-authorization:   ${basic('alice:s3cret:x')}  \r\n\r\n`))?.value,
    { host: 'a.test', port: 1, addressType: 'hostname', username: 'alice', password: 's3cret:x' }, 'Basic credentials, case-insensitive name')
  t.match(decodeConnectHead(head(`CONNECT a.test:1 HTTP/1.1\r\nProxy-Authorization: basic ${Buffer.from('bob').toString('base64')}\r\n\r\n`))?.value,
    { username: 'bob', password: '' }, 'no colon: all of it is the user')
})

t.test('property: every strict prefix waits, the whole decodes, extra bytes are not read', async (t) => {
  fc.assert(fc.property(hostname, fc.integer({ min: 1, max: 65535 }), fc.array(fc.stringMatching(/^[A-Za-z-]{1,20}: [ -~]{0,40}$/), { maxLength: 5 }),
    fc.uint8Array({ maxLength: 40 }), (host, port, fields, extra) => {
      const text = head(`CONNECT ${host}:${port} HTTP/1.1\r\n${fields.filter((f) => !/^proxy-authorization:/i.test(f)).map((f) => `${f}\r\n`).join('')}\r\n`)
      for (let i = 0; i < text.length; i++) if (decodeConnectHead(text.subarray(0, i)) !== undefined) return false
      const decoded = decodeConnectHead(Buffer.concat([text, extra]))
      return decoded !== undefined && decoded.bytesRead === text.length && decoded.value.host === host && decoded.value.port === port
    }), { numRuns: 300 })
  t.pass('prefixes wait, wholes decode')
})

t.test('property: arbitrary bytes decode, wait, or throw an HttpFrontError with a status; 8 KiB always decides', async (t) => {
  const ok = (bytes: Uint8Array): boolean => {
    try { decodeConnectHead(bytes); return true } catch (err) { return err instanceof HttpFrontError && err.status !== undefined }
  }
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), ok), { numRuns: 2000 })
  fc.assert(fc.property(fc.string({ maxLength: 300 }), (s) => ok(head(`CONNECT ${s}`))), { numRuns: 2000 })
  fc.assert(fc.property(fc.string({ maxLength: 300 }), (s) => ok(head(`CONNECT h:1 HTTP/1.1\r\n${s}`))), { numRuns: 2000 })
  fc.assert(fc.property(fc.uint8Array({ minLength: MAX_HEAD_BYTES, maxLength: MAX_HEAD_BYTES + 64 }), (noise) => {
    try { return decodeConnectHead(noise) !== undefined } catch (err) { return err instanceof HttpFrontError }
  }), { numRuns: 200 })
  t.pass('never another exception')
})

t.test('refusals carry a stable code and the status to send', async (t) => {
  const cases: Array<[string, string, string, number]> = [
    ['GET through the proxy', 'GET http://example.com/ HTTP/1.1\r\n', 'HTTP_METHOD_NOT_ALLOWED', 405],
    ['lowercase connect', 'connect a.test:443 HTTP/1.1\r\n', 'HTTP_METHOD_NOT_ALLOWED', 405],
    ['HTTP/2.0', 'CONNECT a.test:443 HTTP/2.0\r\n', 'HTTP_VERSION_UNSUPPORTED', 505],
    ['no version', 'CONNECT a.test:443\r\n', 'HTTP_MALFORMED', 400],
    ['two spaces', 'CONNECT  a.test:443 HTTP/1.1\r\n', 'HTTP_MALFORMED', 400],
    ['origin-form target', 'CONNECT / HTTP/1.1\r\n', 'HTTP_MALFORMED', 400],
    ['no port', 'CONNECT a.test HTTP/1.1\r\n', 'HTTP_MALFORMED', 400],
    ['port 0', 'CONNECT a.test:0 HTTP/1.1\r\n', 'HTTP_MALFORMED', 400],
    ['port 65536', 'CONNECT a.test:65536 HTTP/1.1\r\n', 'HTTP_MALFORMED', 400],
    ['IPv6 without brackets', 'CONNECT ::1:443 HTTP/1.1\r\n', 'HTTP_MALFORMED', 400],
    ['a name with a slash', 'CONNECT a/b:443 HTTP/1.1\r\n', 'HTTP_MALFORMED', 400],
    ['a CR inside the line', 'CONNECT a.test:443\rHTTP/1.1\r\n', 'HTTP_MALFORMED', 400],
    ['obs-fold', 'CONNECT a.test:443 HTTP/1.1\r\nX-A: 1\r\n 2\r\n\r\n', 'HTTP_MALFORMED', 400],
    ['no colon in a field', 'CONNECT a.test:443 HTTP/1.1\r\nnonsense\r\n\r\n', 'HTTP_MALFORMED', 400],
    ['Digest credentials', 'CONNECT a.test:443 HTTP/1.1\r\nProxy-Authorization: Digest x\r\n\r\n', 'HTTP_BAD_CREDENTIALS', 400],
    ['bad base64', 'CONNECT a.test:443 HTTP/1.1\r\nProxy-Authorization: Basic a$b=\r\n\r\n', 'HTTP_BAD_CREDENTIALS', 400],
    ['credentials not UTF-8', `CONNECT a.test:443 HTTP/1.1\r\nProxy-Authorization: Basic ${Buffer.from([0xff, 0x3a]).toString('base64')}\r\n\r\n`, 'HTTP_BAD_CREDENTIALS', 400],
    ['two credentials', `CONNECT a.test:443 HTTP/1.1\r\nProxy-Authorization: ${basic('a:b')}\r\nProxy-Authorization: ${basic('c:d')}\r\n\r\n`, 'HTTP_BAD_CREDENTIALS', 400],
    ['a user of 256 bytes', `CONNECT a.test:443 HTTP/1.1\r\nProxy-Authorization: ${basic(`${'u'.repeat(256)}:p`)}\r\n\r\n`, 'HTTP_BAD_CREDENTIALS', 400],
    ['a request line past 8 KiB', `CONNECT ${'a'.repeat(MAX_HEAD_BYTES)}`, 'HTTP_HEAD_TOO_LARGE', 431],
    ['a head past 8 KiB', `CONNECT a.test:443 HTTP/1.1\r\nX-Pad: ${'p'.repeat(MAX_HEAD_BYTES)}\r\n\r\n`, 'HTTP_HEAD_TOO_LARGE', 431],
  ]
  for (const [what, text, code, status] of cases) t.throws(() => decodeConnectHead(head(text)), { code, status }, what)
  t.equal(decodeConnectHead(head('GET / HTTP/1.1')), undefined, 'a request line not complete yet: waits, even for GET')
})
