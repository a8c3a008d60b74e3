/**
 * The SOCKS4/4a codec as a specification: requests decode whole, wait (undefined) on every
 * strict prefix, leave what follows alone, and on anything at all either decode, wait, or
 * throw a SocksError carrying a REP; fields are capped at 255 bytes; replies are 8 bytes with
 * no address in them.
 */
import t from 'tap'
import fc from 'fast-check'
import { SocksError } from '../../../src/client/socks/socks-error.js'
import {
  MAX_SOCKS4_REQUEST_BYTES, decodeSocks4Request, encodeSocks4Reply, encodeSocks4Request,
} from '../../../src/client/socks/socks4-request.js'

const hostname = fc.stringMatching(/^[A-Za-z0-9_.-]{1,255}$/)
const userId = fc.string({ unit: 'grapheme', maxLength: 60 }).filter((s) => !s.includes('\0') && Buffer.byteLength(s) <= 255)
const ipv4 = fc.tuple(fc.integer({ min: 1, max: 255 }), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'))

/** Hand-built bytes, so the test does not lean on the encoder it also checks. */
function socks4 (octets: number[], port: number, user: string, name?: string, command = 0x01): Buffer {
  const parts = [Buffer.from([0x04, command, port >>> 8, port & 0xff, ...octets]), Buffer.from(user), Buffer.from([0])]
  if (name !== undefined) parts.push(Buffer.from(name, 'latin1'), Buffer.from([0]))
  return Buffer.concat(parts)
}

t.test('SOCKS4 and SOCKS4a requests decode with their length; trailing bytes untouched', async (t) => {
  const tail = Buffer.from('GET / HTTP/1.1\r\n')
  const four = socks4([192, 0, 2, 1], 80, 'alice')
  t.same(decodeSocks4Request(Buffer.concat([four, tail])), {
    value: { command: 1, addressType: 'ipv4', host: '192.0.2.1', port: 80, socks4a: false, userId: 'alice' }, bytesRead: four.length,
  })
  const fourA = socks4([0, 0, 0, 1], 443, '', 'example.com')
  t.same(decodeSocks4Request(Buffer.concat([fourA, tail])), {
    value: { command: 1, addressType: 'hostname', host: 'example.com', port: 443, socks4a: true, userId: undefined }, bytesRead: fourA.length,
  })
  t.equal(decodeSocks4Request(socks4([0, 0, 0, 0], 80, ''))?.value.host, '0.0.0.0', '0.0.0.0 is an address, not the SOCKS4a marker')
  t.equal(MAX_SOCKS4_REQUEST_BYTES, socks4([0, 0, 0, 9], 1, 'u'.repeat(255), 'h'.repeat(255)).length, 'the largest request')
})

t.test('property: encode then decode is the identity; every strict prefix waits; extra bytes are not read', async (t) => {
  fc.assert(fc.property(fc.oneof(hostname, ipv4), fc.integer({ min: 1, max: 65535 }), userId, fc.uint8Array({ maxLength: 32 }),
    (host, port, user, extra) => {
      const request = encodeSocks4Request({ command: 1, host, port, userId: user })
      for (let i = 0; i < request.length; i++) if (decodeSocks4Request(request.subarray(0, i)) !== undefined) return false
      const decoded = decodeSocks4Request(Buffer.concat([request, extra]))
      return decoded !== undefined && decoded.bytesRead === request.length && decoded.value.host === host &&
        decoded.value.port === port && decoded.value.userId === (user === '' ? undefined : user) &&
        decoded.value.socks4a === !/^\d+\.\d+\.\d+\.\d+$/.test(host)
    }), { numRuns: 500 })
  t.pass('round trip')
})

t.test('property: arbitrary bytes decode, wait, or throw a SocksError with a REP; never more than the cap is needed', async (t) => {
  const refusesOrWaits = (bytes: Uint8Array): boolean => {
    try { decodeSocks4Request(bytes); return true } catch (err) { return err instanceof SocksError && err.rep !== undefined }
  }
  fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), refusesOrWaits), { numRuns: 2000 })
  fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (noise) => refusesOrWaits(Buffer.concat([Buffer.from([0x04, 0x01, 0, 80, 0, 0, 0, 7]), noise]))), { numRuns: 2000 })
  fc.assert(fc.property(fc.uint8Array({ minLength: MAX_SOCKS4_REQUEST_BYTES, maxLength: MAX_SOCKS4_REQUEST_BYTES + 40 }), (noise) => {
    const bytes = Buffer.concat([Buffer.from([0x04]), noise])
    try { return decodeSocks4Request(bytes) !== undefined } catch (err) { return err instanceof SocksError }
  }), { numRuns: 1000 })
  t.pass('never another exception, and a full-size buffer never waits')
})

t.test('refusals carry a stable code and the REP to translate', async (t) => {
  const cases: Array<[string, Buffer, string]> = [
    ['version 5 handed to the SOCKS4 decoder', Buffer.from([0x05, 0x01, 0, 80, 1, 2, 3, 4, 0]), 'SOCKS_BAD_VERSION'],
    ['user ID of 256 bytes', socks4([1, 2, 3, 4], 80, 'u'.repeat(256)), 'SOCKS_FIELD_TOO_LONG'],
    ['host name of 256 bytes', socks4([0, 0, 0, 1], 80, '', 'h'.repeat(256)), 'SOCKS_FIELD_TOO_LONG'],
    ['user ID not UTF-8', Buffer.from([0x04, 0x01, 0, 80, 1, 2, 3, 4, 0xff, 0]), 'SOCKS_MALFORMED'],
    ['empty SOCKS4a name', socks4([0, 0, 0, 1], 80, '', ''), 'SOCKS_MALFORMED'],
    ['a name with a space', socks4([0, 0, 0, 1], 80, '', 'a b'), 'SOCKS_BAD_ADDRESS'],
    ['port 0', socks4([1, 2, 3, 4], 0, ''), 'SOCKS_BAD_ADDRESS'],
  ]
  for (const [what, bytes, code] of cases) {
    t.throws(() => decodeSocks4Request(bytes), { code, rep: 0x01 }, what)
  }
  t.equal(decodeSocks4Request(Buffer.concat([Buffer.from([0x04, 0x01, 0, 80, 1, 2, 3, 4]), Buffer.alloc(255, 0x61)])), undefined,
    '255 bytes of user ID without a NUL yet: waits')
})

t.test('the command is reported, not judged (the connection answers BIND with a rejection)', async (t) => {
  t.equal(decodeSocks4Request(socks4([1, 2, 3, 4], 80, '', undefined, 0x02))?.value.command, 2)
})

t.test('replies: VN 0, 0x5A for success, 0x5B for every failure, no port or address', async (t) => {
  t.same(encodeSocks4Reply(0x00), Buffer.from([0, 0x5a, 0, 0, 0, 0, 0, 0]))
  for (const rep of [0x01, 0x02, 0x04, 0x05, 0x06, 0x07, 0xff]) t.same(encodeSocks4Reply(rep), Buffer.from([0, 0x5b, 0, 0, 0, 0, 0, 0]), `REP ${rep}`)
})
