/**
 * The exit policy: Tor-syntax parsing (good rules, and bad ones whose errors name them),
 * first match wins, and the default built by buildExitPolicy: special-purpose ranges in
 * every IPv6 disguise, cascade nodes and Tor's ports refused, the rest accepted, and only an
 * explicit operator `accept` opening anything. Addresses here are strings the policy
 * checks; nothing connects anywhere.
 */
import t from 'tap'
import { MixgateError } from '../../src/errors.js'
import { buildExitPolicy, DEFAULT_PORT_REJECTS, parseExitPolicy, PolicyError } from '../../src/exit/policy.js'

const defaultPolicy = buildExitPolicy({ operatorRules: [], cascadeAddresses: [] })

t.test('good rules parse and print back in canonical form', async (t) => {
  const policy = parseExitPolicy([
    'accept *:*',
    'reject *4:80',
    'accept *6:443',
    '  reject   10.0.0.0/8:*  ',
    'accept 127.0.0.1:*',
    'accept [::1]:8080-8090',
    'reject [2001:DB8:0::]/32:1-1024',
    'REJECT private:25',
    'accept 0.0.0.0/0:65535',
    'accept *:80, accept *:443',
  ])
  t.same(policy.describe(), [
    'accept *:*',
    'reject *4:80',
    'accept *6:443',
    'reject 10.0.0.0/8:*',
    'accept 127.0.0.1:*',
    'accept [::1]:8080-8090',
    'reject [2001:db8::]/32:1-1024',
    'reject private:25',
    'accept 0.0.0.0/0:65535',
    'accept *:80',
    'accept *:443',
  ])
  t.same(parseExitPolicy(policy.describe()).describe(), policy.describe(), 'the printed form parses to itself')
})

t.test('every bad rule is refused with EXIT_POLICY_INVALID, a message quoting it and saying what is wrong', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['', /is empty/],
    ['   ', /is empty/],
    ['accept', /has no ADDRESS:PORT/],
    ['allow *:80', /action must be "accept" or "reject", not "allow"/],
    ['accept6 [::1]:80', /action must be/],
    ['accept *:80 please', /extra words/],
    ['accept ::1:80', /IPv6 addresses must be written in brackets/],
    ['accept [::1:80', /no closing "\]"/],
    ['accept fe80::1:*', /IPv6 addresses must be written in brackets/],
    ['accept 10.0.0.1:80:90', /port "80:90" must be/],
    ['accept [::1]x:80', /unexpected "x:80" after the IPv6 address/],
    ['accept [127.0.0.1]:80', /write IPv4 addresses without brackets/],
    ['accept [fe80::1%eth0]:80', /not an IPv6 address/],
    ['accept 10.0.0.0/8', /has no ":PORT"/],
    ['accept *', /has no ":PORT"/],
    ['accept 10.0.0.0/33:*', /prefix length "\/33" must be a number from 0 to 32 for IPv4/],
    ['accept [::]/129:*', /prefix length "\/129" must be a number from 0 to 128 for IPv6/],
    ['accept 10.0.0.0/8x:*', /prefix length/],
    ['accept 10.0.0.0/:*', /prefix length/],
    ['accept 10.1.0.0/8:*', /bits set after its \/8 prefix/],
    ['accept [2001:db8::1]/32:*', /bits set after its \/32 prefix/],
    ['accept 127.1:*', /"127.1" is not an address/],
    ['accept example.com:80', /"example.com" is not an address/],
    ['accept */8:*', /"\*" takes no \/BITS/],
    ['accept private/8:*', /takes no \/BITS/],
    ['accept *:0', /port "0" must be/],
    ['accept *:65536', /port "65536" must be/],
    ['accept *:http', /port "http" must be/],
    ['accept *:', /port "" must be/],
    ['accept *:80-', /port "80-" must be/],
    ['accept *:90-80', /range "90-80" ends before it starts/],
  ]
  for (const [rule, problem] of cases) {
    const error = t.throws(() => parseExitPolicy([rule]), rule) as unknown
    t.ok(error instanceof PolicyError && error instanceof MixgateError, `${JSON.stringify(rule)} is a PolicyError`)
    const policyError = error as PolicyError
    t.equal(policyError.code, 'EXIT_POLICY_INVALID')
    t.equal(policyError.rule, rule)
    t.ok(policyError.message.includes(JSON.stringify(rule)), `message names ${JSON.stringify(rule)}`)
    t.match(policyError.message, problem, `message says what is wrong with ${JSON.stringify(rule)}`)
  }
  t.throws(() => parseExitPolicy(['accept *:80, bogus']), { code: 'EXIT_POLICY_INVALID', rule: ' bogus' }, 'a bad part of a comma list is named')
})

t.test('the first matching rule decides; no match refuses', async (t) => {
  const rejectFirst = parseExitPolicy(['reject 10.0.0.0/8:*', 'accept 10.1.0.0/16:*'])
  t.notOk(rejectFirst.allows('10.1.2.3', 80))
  const acceptFirst = parseExitPolicy(['accept 10.1.0.0/16:*', 'reject 10.0.0.0/8:*'])
  t.ok(acceptFirst.allows('10.1.2.3', 80))
  t.notOk(acceptFirst.allows('10.2.0.1', 80))
  const ports = parseExitPolicy(['accept *:80-81', 'reject *:*'])
  t.ok(ports.allows('93.184.216.34', 81))
  t.notOk(ports.allows('93.184.216.34', 82))
  t.notOk(parseExitPolicy(['accept *:443']).allows('93.184.216.34', 80), 'nothing matched: refused')
  const families = parseExitPolicy(['accept *4:*'])
  t.ok(families.allows('93.184.216.34', 80))
  t.notOk(families.allows('2606:4700::1111', 80), '*4 does not match IPv6')
  t.ok(parseExitPolicy(['accept *6:*']).allows('2606:4700::1111', 80))
})

t.test('the default refuses every special-purpose address, in every IPv6 form', async (t) => {
  const refused = [
    '127.0.0.1', '10.1.2.3', '169.254.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1',
    '172.16.5.4', '192.168.1.1', '198.18.0.1', '240.0.0.1', '255.255.255.255', '192.0.0.9',
    '::1', '::', 'fe80::1', 'fc00::1', 'fd12:3456::1', 'fec0::1', 'ff02::1',
    '::ffff:127.0.0.1', '::ffff:7f00:1', '::127.0.0.1', '::ffff:0:7f00:1',
    '64:ff9b::7f00:1', '64:ff9b::a00:1', '64:ff9b:1:7f00:0:100::',
    '2002:7f00:1::1',
    '2001:0:4136:e378:8000:63bf:80ff:fffe', // Teredo, client 127.0.0.1 obfuscated
    '2001:db8::1', '3fff::1', '5f00::1', '100::1', '4000::1',
  ]
  for (const address of refused) t.notOk(defaultPolicy.allows(address, 443), `${address} refused`)
})

t.test('the default refuses Tor\'s default ports on public addresses, and accepts the rest', async (t) => {
  t.notOk(defaultPolicy.allows('93.184.216.34', 25), 'SMTP')
  for (const port of [119, 135, 139, 445, 563, 1214, 4661, 4666, 6346, 6429, 6699, 6881, 6999]) {
    t.notOk(defaultPolicy.allows('93.184.216.34', port), `port ${port}`)
  }
  for (const port of [22, 80, 443, 465, 587, 993, 8080, 6880, 7000, 65535]) {
    t.ok(defaultPolicy.allows('93.184.216.34', port), `port ${port}`)
  }
  t.ok(defaultPolicy.allows('93.184.216.34', 80))
  t.ok(defaultPolicy.allows('2606:4700::1111', 443))
  t.ok(defaultPolicy.allows('2606:4700:0:0:0:0:0:1111', 443), 'any spelling')
  t.equal(DEFAULT_PORT_REJECTS[0], 'reject *:25')
  t.same(defaultPolicy.describe().slice(-1), ['accept *:*'])
  t.same(defaultPolicy.describe()[0], 'reject private:*')
})

t.test('allows() refuses what is not an IP literal and ports outside 1..65535', async (t) => {
  for (const ip of ['example.com', '127.1', '[2606:4700::1111]', '', 'fe80::1%eth0', '2606:4700::1111%1']) {
    t.notOk(defaultPolicy.allows(ip, 443), JSON.stringify(ip))
  }
  for (const port of [0, -1, 65536, 80.5, Number.NaN]) t.notOk(defaultPolicy.allows('93.184.216.34', port), `port ${port}`)
})

t.test('an operator accept in front opens exactly what it names', async (t) => {
  const policy = buildExitPolicy({ operatorRules: ['accept 127.0.0.1:*'], cascadeAddresses: [] })
  t.ok(policy.allows('127.0.0.1', 8080), 'loopback opened')
  t.ok(policy.allows('127.0.0.1', 25), 'every port, since it comes first')
  t.notOk(policy.allows('127.0.0.2', 8080), 'only the address named')
  t.notOk(policy.allows('10.1.2.3', 8080), '10/8 stays closed')
  t.notOk(policy.allows('::1', 8080), 'IPv6 loopback stays closed')
  t.notOk(policy.allows('::ffff:127.0.0.1', 8080), 'the IPv4-mapped form is IPv6 and stays closed')
  t.ok(policy.allows('93.184.216.34', 443))
  t.same(policy.describe()[0], 'accept 127.0.0.1:*')
})

t.test('opening an IPv6 translation prefix does not open the IPv4 addresses inside it', async (t) => {
  const policy = buildExitPolicy({
    operatorRules: ['accept [64:ff9b::]/96:*', 'accept [2002::]/16:*', 'accept [2001::]/32:*', 'accept [::ffff:0:0]/96:*'],
    cascadeAddresses: [],
  })
  t.ok(policy.allows('64:ff9b::5db8:d822', 443), 'NAT64 of 93.184.216.34')
  t.notOk(policy.allows('64:ff9b::7f00:1', 443), 'NAT64 of 127.0.0.1')
  t.notOk(policy.allows('64:ff9b::a00:1', 443), 'NAT64 of 10.0.0.1')
  t.ok(policy.allows('2002:5db8:d822::1', 443), '6to4 of 93.184.216.34')
  t.notOk(policy.allows('2002:7f00:1::1', 443), '6to4 of 127.0.0.1')
  t.ok(policy.allows('2001:0:4136:e378:8000:63bf:a247:29dd', 443), 'Teredo, both ends public')
  t.notOk(policy.allows('2001:0:4136:e378:8000:63bf:80ff:fffe', 443), 'Teredo client 127.0.0.1')
  t.notOk(policy.allows('2001:0:a00:1:8000:63bf:a247:29dd', 443), 'Teredo server 10.0.0.1')
  t.ok(policy.allows('::ffff:93.184.216.34', 443))
  t.notOk(policy.allows('::ffff:169.254.169.254', 443))
  t.notOk(policy.allows('64:ff9b::5db8:d822', 25), 'ports still apply to the IPv4 inside')
})

t.test('the cascade\'s own node addresses are refused, in every form', async (t) => {
  const policy = buildExitPolicy({
    operatorRules: ['accept [::ffff:0:0]/96:*'],
    cascadeAddresses: ['93.184.216.99', '2606:4700::6810:1', '[2a00:1450::1]', '::ffff:5.6.7.8'],
  })
  t.notOk(policy.allows('93.184.216.99', 443))
  t.notOk(policy.allows('93.184.216.99', 9001))
  t.notOk(policy.allows('::ffff:93.184.216.99', 443), 'IPv4-mapped form of a node')
  t.notOk(policy.allows('2606:4700::6810:1', 443))
  t.notOk(policy.allows('2a00:1450::1', 443), 'bracketed cascade address')
  t.notOk(policy.allows('5.6.7.8', 443), 'the IPv4 a node\'s IPv6 form carries')
  t.ok(policy.allows('93.184.216.34', 443), 'its neighbours are not')
  t.ok(policy.allows('2606:4700::6810:2', 443))
  for (const bad of ['node1.example', '1.2.3.4:9001', '10.0.0.0/8', '']) {
    t.throws(() => buildExitPolicy({ operatorRules: [], cascadeAddresses: [bad] }),
      { code: 'EXIT_POLICY_INVALID', rule: bad }, `cascade address ${JSON.stringify(bad)}`)
  }
})

t.test('a bad operator rule stops buildExitPolicy', async (t) => {
  t.throws(() => buildExitPolicy({ operatorRules: ['accept 10.0.0.0/8'], cascadeAddresses: [] }),
    { code: 'EXIT_POLICY_INVALID', rule: 'accept 10.0.0.0/8' })
})
