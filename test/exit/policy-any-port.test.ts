/**
 * ExitPolicy.allowsAnyPort (the RESOLVE test, PROTOCOL.md §11.3) against allows() itself: an
 * address passes iff allows() accepts it on some port. allows() is constant between the
 * ports where a rule starts or ends, so trying those boundary ports (and 1, 65535) is an
 * exact oracle, for random rule lists, embedded IPv4 addresses included.
 */
import t from 'tap'
import fc from 'fast-check'
import { buildExitPolicy, parseExitPolicy, type ExitPolicy } from '../../src/exit/policy.js'

const ADDRESSES = ['127.0.0.1', '10.0.0.1', '192.0.2.7', '93.184.216.34', '::1', '2001:db8::1', '::ffff:10.0.0.1', '::ffff:93.184.216.34', '64:ff9b::a00:1']
const PATTERNS = ['*', '*4', '*6', 'private', '127.0.0.1', '10.0.0.0/8', '93.184.216.34', '[2001:db8::]/32', '[::ffff:0:0]/96', '[64:ff9b::]/96']

function oracle (policy: ExitPolicy, ip: string): boolean {
  const ports = new Set([1, 65535])
  for (const rule of policy.rules) for (const p of [rule.portMin - 1, rule.portMin, rule.portMax, rule.portMax + 1]) if (p >= 1 && p <= 65535) ports.add(p)
  for (const port of ports) if (policy.allows(ip, port)) return true
  return false
}

const port = fc.integer({ min: 1, max: 65535 })
const rule = fc.tuple(fc.constantFrom('accept', 'reject'), fc.constantFrom(...PATTERNS), fc.oneof(fc.constant('*'), port.map(String),
  fc.tuple(port, port).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`)))
  .map(([action, address, ports]) => `${action} ${address}:${ports}`)

t.test('allowsAnyPort(ip) is "allows(ip, p) for some p", for random policies', async (t) => {
  fc.assert(fc.property(fc.array(rule, { maxLength: 8 }), fc.boolean(), (rules, withDefault) => {
    const policy = withDefault ? buildExitPolicy({ operatorRules: rules, cascadeAddresses: ['192.0.2.7'] }) : parseExitPolicy(rules)
    return ADDRESSES.every((ip) => policy.allowsAnyPort(ip) === oracle(policy, ip))
  }), { numRuns: 400 })
  t.pass()
})

t.test('examples', async (t) => {
  const policy = buildExitPolicy({ operatorRules: ['accept 127.0.0.1:*', 'reject 93.184.216.34:1-442', 'reject 93.184.216.34:444-65535'], cascadeAddresses: [] })
  t.ok(policy.allowsAnyPort('127.0.0.1'), 'opened loopback')
  t.notOk(policy.allowsAnyPort('127.0.0.2'), 'the rest of loopback (private)')
  t.notOk(policy.allowsAnyPort('10.0.0.1'), 'private')
  t.ok(policy.allowsAnyPort('93.184.216.34'), 'open on port 443 only')
  t.notOk(policy.allowsAnyPort('::ffff:10.0.0.1'), 'private behind an IPv4-mapped address')
  t.notOk(policy.allowsAnyPort('example.com'), 'not an IP literal')
  t.ok(parseExitPolicy(['accept *:25', 'reject *:*']).allowsAnyPort('::ffff:93.184.216.34'), 'an embedded address shares the open port')
  t.notOk(parseExitPolicy(['accept [::ffff:0:0]/96:80', 'accept 93.184.216.34:443', 'reject *:*']).allowsAnyPort('::ffff:93.184.216.34'),
    'open on different ports for the wrapper and the embedded address: no port works for both')
})
