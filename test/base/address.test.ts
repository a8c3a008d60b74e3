/**
 * HOST:PORT parsing: the three host forms, typed errors that never repeat the input, and
 * a property test that formatting then parsing gives back the same address.
 */
import t from 'tap'
import fc from 'fast-check'
import { AddressError, formatHostPort, isDnsName, parseHostPort } from '../../src/base/address.js'

t.test('IPv4, bracketed IPv6 and DNS names parse into host and port', async (t) => {
  t.same(parseHostPort('127.0.0.1:1080'), { host: '127.0.0.1', port: 1080 })
  t.same(parseHostPort('[::1]:1080'), { host: '::1', port: 1080 })
  t.same(parseHostPort('[::ffff:10.0.0.1]:65535'), { host: '::ffff:10.0.0.1', port: 65535 })
  t.same(parseHostPort('localhost:1080'), { host: 'localhost', port: 1080 })
  t.same(parseHostPort('mix-1.example.org.:1'), { host: 'mix-1.example.org.', port: 1 })
  t.same(parseHostPort('127.0.0.1:0', { allowZeroPort: true }), { host: '127.0.0.1', port: 0 })
})

t.test('each kind of mistake has its own code, and no message repeats the input', async (t) => {
  const cases: Array<[string, string]> = [
    ['foo', 'ADDR_SYNTAX'],
    ['', 'ADDR_SYNTAX'],
    [':80', 'ADDR_SYNTAX'],
    ['[::1]', 'ADDR_SYNTAX'],
    ['[::1]80', 'ADDR_SYNTAX'],
    ['a]b:80', 'ADDR_SYNTAX'],
    ['::1:80', 'ADDR_IPV6_BRACKETS'],
    ['[10.0.0.1]:80', 'ADDR_BAD_HOST'],
    ['[secret.example]:80', 'ADDR_BAD_HOST'],
    ['1.2.3:80', 'ADDR_BAD_HOST'],
    ['10.0.0.256:80', 'ADDR_BAD_HOST'],
    ['-secret.example:80', 'ADDR_BAD_HOST'],
    ['sec ret:80', 'ADDR_BAD_HOST'],
    [`${'a'.repeat(64)}.example:80`, 'ADDR_BAD_HOST'],
    ['secret:0', 'ADDR_BAD_PORT'],
    ['secret:65536', 'ADDR_BAD_PORT'],
    ['secret:080', 'ADDR_BAD_PORT'],
    ['secret:+80', 'ADDR_BAD_PORT'],
    ['secret:', 'ADDR_BAD_PORT'],
    ['secret:8 0', 'ADDR_BAD_PORT'],
  ]
  for (const [text, code] of cases) {
    try {
      parseHostPort(text)
      t.fail(`${JSON.stringify(text)} should be refused`)
    } catch (err) {
      t.ok(err instanceof AddressError, `${JSON.stringify(text)} → AddressError`)
      t.equal((err as AddressError).code, code, `${JSON.stringify(text)} → ${code}`)
      t.notMatch((err as Error).message, /secret|10\.0\.0|1\.2\.3|::1/, 'message does not repeat the input')
    }
  }
})

t.test('DNS names: label rules, length limits, numeric last label refused', async (t) => {
  t.ok(isDnsName('a'))
  t.ok(isDnsName('_srv.example'))
  t.ok(isDnsName(`${'a'.repeat(63)}.example`))
  t.notOk(isDnsName(`${'a'.repeat(63)}.`.repeat(4) + 'com'), 'longer than 253')
  t.notOk(isDnsName('a..b'))
  t.notOk(isDnsName('.'))
  t.notOk(isDnsName('a-.b'))
  t.notOk(isDnsName('example.123'))
})

t.test('formatHostPort adds brackets to IPv6 literals only', async (t) => {
  t.equal(formatHostPort({ host: '::1', port: 1080 }), '[::1]:1080')
  t.equal(formatHostPort({ host: '127.0.0.1', port: 1 }), '127.0.0.1:1')
  t.equal(formatHostPort({ host: 'localhost', port: 9 }), 'localhost:9')
})

t.test('property: parse(format(address)) gives back the address for v4, v6 and names', async (t) => {
  const port = fc.integer({ min: 1, max: 65535 })
  const host = fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain())
  fc.assert(fc.property(host, port, (h, p) => {
    const parsed = parseHostPort(formatHostPort({ host: h, port: p }))
    return parsed.host === h && parsed.port === p
  }), { numRuns: 2000 })
  t.pass('round trip holds')
})

t.test('property: any text either parses or throws an AddressError, nothing else', async (t) => {
  const text = fc.oneof(fc.string(), fc.string({ unit: fc.constantFrom(...'[]:.0123456789abcdef-') }))
  fc.assert(fc.property(text, (s) => {
    try {
      const { port } = parseHostPort(s)
      return Number.isInteger(port) && port >= 1 && port <= 65535
    } catch (err) {
      return err instanceof AddressError
    }
  }), { numRuns: 2000 })
  t.pass('parse is total')
})
