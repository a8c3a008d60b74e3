/**
 * The pinned resolver, against a real DNS server written for the test on 127.0.0.1:
 * resolves through it alone (never /etc/hosts, never search domains), maps localhost
 * locally, passes IP literals through, validates names before asking, times out, keeps no
 * cache, and turns every failure into RESOLVE_FAILED.
 */
import { readFileSync } from 'node:fs'
import t, { type Test } from 'tap'
import { EndReason } from '../../src/protocol/end-reason.js'
import { createPinnedResolver, PinnedResolver, normalizeHostname } from '../../src/exit/resolver.js'
import { startDnsServer, TYPE_A, TYPE_AAAA, type TestDnsServer } from './helpers/dns-server.js'

const RECORDS = {
  'test.mixgate.example': { a: ['192.0.2.7'], aaaa: ['2001:db8::7'] },
  'v4only.mixgate.example': { a: ['192.0.2.8'] },
  'v6only.mixgate.example': { aaaa: ['2001:db8::8'] },
  'empty.mixgate.example': {},
}

async function dnsServer (t: Test, options?: { silent?: boolean }): Promise<TestDnsServer> {
  const server = await startDnsServer(RECORDS, options)
  t.teardown(() => server.close())
  return server
}

/** Host names listed in /etc/hosts, other than localhost ones (resolved locally by design). */
function namesInEtcHosts (): string[] {
  let text = ''
  try { text = readFileSync('/etc/hosts', 'utf8') } catch { return [] }
  return text.split('\n')
    .map((line) => line.replace(/#.*/, '').trim().split(/\s+/).slice(1))
    .flat()
    .filter((name) => name !== '' && normalizeHostname(name) !== undefined &&
      !/(^|\.)localhost\.?$/i.test(name) && !(name.toLowerCase() in RECORDS))
}

t.test('a name is resolved through the pinned server, A and AAAA, exactly as given', async (t) => {
  const dns = await dnsServer(t)
  const resolver = new PinnedResolver({ servers: [dns.server], timeoutMs: 2000 })
  t.same(await resolver.resolve('test.mixgate.example'), { ok: true, addresses: ['192.0.2.7', '2001:db8::7'] })
  t.same(dns.questions.map((q) => q.name), ['test.mixgate.example', 'test.mixgate.example'])
  t.same(dns.questions.map((q) => q.type).sort((a, b) => a - b), [TYPE_A, TYPE_AAAA])
  t.same(await resolver.resolve('TEST.mixgate.example.'), { ok: true, addresses: ['192.0.2.7', '2001:db8::7'] },
    'case and one trailing dot do not matter')
  t.same(await resolver.resolve('v4only.mixgate.example'), { ok: true, addresses: ['192.0.2.8'] })
  t.same(await resolver.resolve('v6only.mixgate.example'), { ok: true, addresses: ['2001:db8::8'] })
})

t.test('an unknown name, or one with no addresses, fails with RESOLVE_FAILED', async (t) => {
  const dns = await dnsServer(t)
  const resolver = new PinnedResolver({ servers: [dns.server], timeoutMs: 2000 })
  t.same(await resolver.resolve('nowhere.mixgate.example'), { ok: false, reason: EndReason.RESOLVE_FAILED })
  t.same(await resolver.resolve('empty.mixgate.example'), { ok: false, reason: EndReason.RESOLVE_FAILED })
})

const hostsNames = namesInEtcHosts()
const noHostsNames = hostsNames.length === 0 ? '/etc/hosts lists no name besides localhost here' : false

t.test('a name in /etc/hosts but not in the DNS does not resolve, and is asked unexpanded', { skip: noHostsNames }, async (t) => {
  const names = hostsNames
  const dns = await dnsServer(t)
  const resolver = new PinnedResolver({ servers: [dns.server], timeoutMs: 2000 })
  for (const name of names) {
    t.same(await resolver.resolve(name), { ok: false, reason: EndReason.RESOLVE_FAILED }, `${name} from /etc/hosts`)
  }
  // Asked exactly as written: no search domain appended, even to a single-label name.
  const asked = new Set(dns.questions.map((q) => q.name))
  t.same([...asked].sort(), [...new Set(names.map((n) => n.toLowerCase()))].sort())
})

t.test('localhost and *.localhost map to loopback without asking the DNS', async (t) => {
  const dns = await dnsServer(t)
  const resolver = new PinnedResolver({ servers: [dns.server], timeoutMs: 2000 })
  for (const name of ['localhost', 'LOCALHOST.', 'app.localhost', 'a.b.localhost']) {
    t.same(await resolver.resolve(name), { ok: true, addresses: ['127.0.0.1', '::1'] }, name)
  }
  t.same(dns.questions, [], 'no query sent')
})

t.test('IP literals pass through unchanged, IPv6 without brackets, without asking the DNS', async (t) => {
  const dns = await dnsServer(t)
  const resolver = new PinnedResolver({ servers: [dns.server], timeoutMs: 2000 })
  t.same(await resolver.resolve('93.184.216.34'), { ok: true, addresses: ['93.184.216.34'] })
  t.same(await resolver.resolve('2606:4700::1111'), { ok: true, addresses: ['2606:4700::1111'] })
  t.same(await resolver.resolve('[2606:4700::1111]'), { ok: true, addresses: ['2606:4700::1111'] })
  t.same(await resolver.resolve('::ffff:7f00:1'), { ok: true, addresses: ['::ffff:7f00:1'] }, 'the policy judges it, not the resolver')
  t.same(dns.questions, [], 'no query sent')
})

t.test('invalid names fail with RESOLVE_FAILED before any query', async (t) => {
  const dns = await dnsServer(t)
  const resolver = new PinnedResolver({ servers: [dns.server], timeoutMs: 2000 })
  const invalid = ['', '.', 'a..b', '.a.com', '-a.com', 'a-.com', `${'x'.repeat(64)}.com`,
    `${'abcdefghi.'.repeat(25)}abcd`, 'exa mple.com', 'ex@mple.com', 'ümlaut.de', 'a.com..',
    '127.1', '0x7f.1', '2130706433', '1.2.3.04', '[1.2.3.4]', '[example.com]', 'a/b.com', 'a:b.com']
  for (const name of invalid) {
    t.same(await resolver.resolve(name), { ok: false, reason: EndReason.RESOLVE_FAILED }, JSON.stringify(name))
  }
  t.same(dns.questions, [], 'no query sent')
})

t.test('names at the length limits are asked', async (t) => {
  const dns = await dnsServer(t)
  const resolver = new PinnedResolver({ servers: [dns.server], timeoutMs: 2000 })
  const longLabel = `${'x'.repeat(63)}.example`
  const longName = `${'abcdefghi.'.repeat(24)}abcdefghijklm` // 253 characters
  t.equal(longName.length, 253)
  await resolver.resolve(longLabel)
  await resolver.resolve(longName)
  await resolver.resolve('_srv-host.example')
  t.same([...new Set(dns.questions.map((q) => q.name))], [longLabel, longName, '_srv-host.example'])
})

t.test('a server that never answers fails with RESOLVE_FAILED at the deadline', async (t) => {
  const dns = await dnsServer(t, { silent: true })
  const resolver = new PinnedResolver({ servers: [dns.server], timeoutMs: 300 })
  t.same(await resolver.resolve('test.mixgate.example'), { ok: false, reason: EndReason.RESOLVE_FAILED })
  t.ok(dns.questions.length >= 2, 'the queries were sent')
})

t.test('no answer is cached: every resolution asks the server again', async (t) => {
  const dns = await dnsServer(t)
  const resolver = new PinnedResolver({ servers: [dns.server], timeoutMs: 2000 })
  await resolver.resolve('v4only.mixgate.example')
  await resolver.resolve('v4only.mixgate.example')
  t.equal(dns.questions.filter((q) => q.type === TYPE_A).length, 2)
})

t.test('bad settings are refused with EXIT_RESOLVER_INVALID', async (t) => {
  t.throws(() => new PinnedResolver({ servers: [] }), { code: 'EXIT_RESOLVER_INVALID' }, 'no server')
  t.throws(() => new PinnedResolver({ servers: ['dns.example'] }), { code: 'EXIT_RESOLVER_INVALID' }, 'a host name')
  t.throws(() => new PinnedResolver({ servers: ['127.0.0.1'], timeoutMs: 0 }), { code: 'EXIT_RESOLVER_INVALID' })
  t.throws(() => new PinnedResolver({ servers: ['127.0.0.1'], timeoutMs: 1.5 }), { code: 'EXIT_RESOLVER_INVALID' })
  t.doesNotThrow(() => new PinnedResolver({ servers: ['127.0.0.1:5353', '[::1]:53', '2001:db8::53'] }))
  t.ok(createPinnedResolver({ servers: ['127.0.0.1'] }) instanceof PinnedResolver, 'the factory builds the same')
})
