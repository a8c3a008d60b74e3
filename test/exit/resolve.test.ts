/**
 * RESOLVE at the exit (PROTOCOL.md §7.2, §11.3), through a real exit and mix on loopback with
 * a hand-made client: a name is answered with the addresses the policy allows (IPv4 first),
 * an address with its PTR name; a name with no allowed address, or an address the policy
 * refuses, is END(EXIT_POLICY) (the refused address is never even asked about); an unknown
 * name, or a PTR answer that is no host name, is END(RESOLVE_FAILED); a malformed RESOLVE
 * is END(PROTOCOL). Each outcome ends the stream, and the exit counts it.
 */
import t from 'tap'
import { cryptoReady } from '../../src/crypto/index.js'
import { MetricsRegistry } from '../../src/base/metrics-registry.js'
import { registerExitMetrics } from '../../src/exit/exit-metrics.js'
import { EndReason } from '../../src/protocol/end-reason.js'
import { RelayCommand } from '../../src/protocol/relay-payload.js'
import { decodeResolved, encodeResolve } from '../../src/protocol/resolve.js'
import { waitFor } from '../helpers/cascade.js'
import { startDnsServer, TYPE_PTR } from './helpers/dns-server.js'
import { startExitCascade, type RawStreams } from './helpers/exit-cascade.js'

await cryptoReady()

const dns = await startDnsServer({
  'mixed.test': { a: ['10.0.0.1', '127.0.0.1'], aaaa: ['::1', '2001:db8::5'] },
  'private.test': { a: ['10.1.2.3', '192.168.1.1'] },
  '1.0.0.127.in-addr.arpa': { ptr: ['host.test'] },
  '3.0.0.127.in-addr.arpa': { ptr: ['evil name\x07.test'] },
})
t.teardown(() => dns.close())
const c = await startExitCascade({
  dnsServers: [dns.server],
  exitPolicy: ['accept 127.0.0.1:*', 'accept 127.0.0.3:*', 'accept [2001:db8::]/32:*'],
})
t.teardown(() => c.stop())
const streams = await c.open()
const stats = c.exit.node.exitStats

/** The exit's answer on `streamId`: the RESOLVED answers, or the END reason. */
async function answer (s: RawStreams, streamId: number): Promise<string[] | number> {
  let result: string[] | number | undefined
  await waitFor(() => {
    const first = s.received(streamId).find((m) => m.command === RelayCommand.RESOLVED || m.command === RelayCommand.END)
    if (first === undefined) return false
    result = first.command === RelayCommand.END ? first.data[0]! : decodeResolved(first.data).map((a) => a.host)
    return true
  }, `the exit's answer on stream ${streamId}`)
  return result!
}

t.test('a name: only the addresses the policy allows, IPv4 first', async (t) => {
  streams.send(1, RelayCommand.RESOLVE, encodeResolve('mixed.test'))
  t.same(await answer(streams, 1), ['127.0.0.1', '2001:db8:0:0:0:0:0:5'], '10.0.0.1 and ::1 are left out')
  streams.send(2, RelayCommand.RESOLVE, encodeResolve('localhost'))
  t.same(await answer(streams, 2), ['127.0.0.1'], 'localhost without a query (RFC 6761), ::1 refused')
  await waitFor(() => c.exit.node.openStreamsPerCircuit().length === 0, 'the answered streams to be gone at the exit')
})

t.test('no allowed address is EXIT_POLICY; an unknown name is RESOLVE_FAILED', async (t) => {
  streams.send(3, RelayCommand.RESOLVE, encodeResolve('private.test'))
  t.equal(await answer(streams, 3), EndReason.EXIT_POLICY)
  streams.send(4, RelayCommand.RESOLVE, encodeResolve('nothing.test'))
  t.equal(await answer(streams, 4), EndReason.RESOLVE_FAILED)
})

t.test('an address: its PTR name, only if the policy allows the address', async (t) => {
  streams.send(5, RelayCommand.RESOLVE, encodeResolve('127.0.0.1'))
  t.same(await answer(streams, 5), ['host.test'])
  const asked = dns.questions.length
  streams.send(6, RelayCommand.RESOLVE, encodeResolve('10.0.0.5'))
  t.equal(await answer(streams, 6), EndReason.EXIT_POLICY, 'a private address is refused')
  t.notOk(dns.questions.slice(asked).some((q) => q.type === TYPE_PTR), 'and never asked about')
  streams.send(7, RelayCommand.RESOLVE, encodeResolve('127.0.0.3'))
  t.equal(await answer(streams, 7), EndReason.RESOLVE_FAILED, 'a PTR answer that is no host name is not passed on')
  streams.send(8, RelayCommand.RESOLVE, encodeResolve('2001:db8::5'))
  t.equal(await answer(streams, 8), EndReason.RESOLVE_FAILED, 'IPv6: no PTR record')
  t.ok(dns.questions.some((q) => q.type === TYPE_PTR && q.name === `${'5'}${'.0'.repeat(23)}.8.b.d.0.1.0.0.2.ip6.arpa`),
    'asked under ip6.arpa, nibble by nibble')
})

t.test('a malformed RESOLVE is END(PROTOCOL); a reused stream ID is a violation; the exit goes on', async (t) => {
  const violations = stats.violations
  streams.send(9, RelayCommand.RESOLVE, Uint8Array.of(3, 0))
  t.equal(await answer(streams, 9), EndReason.PROTOCOL, 'an empty name')
  streams.send(10, RelayCommand.RESOLVE, Uint8Array.of(1, 127, 0, 0, 1, 0, 80))
  t.equal(await answer(streams, 10), EndReason.PROTOCOL, 'bytes after the address (a BEGIN sent as RESOLVE)')
  streams.send(11, RelayCommand.RESOLVE, Uint8Array.of(3, 3, 0x61, 0x20, 0x62))
  t.equal(await answer(streams, 11), EndReason.PROTOCOL, 'a name with a space')
  streams.send(12, RelayCommand.RESOLVE, Uint8Array.of(9, 1, 2, 3, 4))
  t.equal(await answer(streams, 12), EndReason.PROTOCOL, 'an unknown address type')
  // Two RESOLVEs on one ID: the second is a violation and is dropped (the first is still answered).
  streams.send(13, RelayCommand.RESOLVE, encodeResolve('mixed.test'))
  streams.send(13, RelayCommand.RESOLVE, encodeResolve('mixed.test'))
  const answered = await answer(streams, 13)
  t.ok(Array.isArray(answered), 'the first is answered')
  t.ok(stats.violations > violations, 'the reuse counted as a violation')
  streams.send(14, RelayCommand.RESOLVE, encodeResolve('mixed.test'))
  t.ok(Array.isArray(await answer(streams, 14)), 'the circuit still works')
})

t.test('the exit counts its answers and refusals', async (t) => {
  t.equal(stats.resolvesAnswered, 5)
  t.equal(stats.resolvesRefused, 9)
  const registry = new MetricsRegistry()
  registerExitMetrics(registry, c.exit.node, { position: 2, epoch: () => 0 })
  const text = await registry.render()
  t.match(text, /mixgate_exit_resolves_total\{result="answered"\} 5/)
  t.match(text, /mixgate_exit_resolves_total\{result="refused"\} 9/)
})
