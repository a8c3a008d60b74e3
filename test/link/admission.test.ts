/**
 * The admission policy without sockets, on a clock the test moves: which source a
 * connection counts against, the token buckets, the order of the checks, that refusals
 * spend no token, and that the per-source table keeps nothing once its counts are back to
 * zero and its bucket has refilled.
 */
import t from 'tap'
import { Admission, LinkRefusal } from '../../src/link/admission.js'
import { DEFAULT_LINK_LIMITS, linkLimits, type LinkLimits } from '../../src/link/limits.js'
import { sourceKey } from '../../src/link/source-key.js'
import type { SourceEntry } from '../../src/link/source-table.js'
import { TokenBucket } from '../../src/link/token-bucket.js'

t.test('a source is an IPv4 address, or an IPv6 /64', async (t) => {
  t.equal(sourceKey('192.0.2.7'), '192.0.2.7')
  t.equal(sourceKey('::ffff:192.0.2.7'), '192.0.2.7', 'IPv4-mapped, as a dual-stack listener reports it')
  t.equal(sourceKey('::FFFF:192.0.2.7'), '192.0.2.7')
  t.equal(sourceKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64')
  t.equal(sourceKey('2001:0db8:0001:0002:ffff:ffff:ffff:ffff'), '2001:db8:1:2::/64', 'the same /64, written in full')
  t.equal(sourceKey('2001:db8::1'), '2001:db8:0:0::/64')
  t.equal(sourceKey('2001:db8:1::'), '2001:db8:1:0::/64')
  t.equal(sourceKey('::1'), '0:0:0:0::/64')
  t.equal(sourceKey('fe80::1%eth0'), 'fe80:0:0:0::/64', 'the zone does not make another source')
  t.equal(sourceKey('64:ff9b::192.0.2.7'), '64:ff9b:0:0::/64', 'a trailing dotted quad fills two groups')
  t.not(sourceKey('2001:db8:1:2::1'), sourceKey('2001:db8:1:3::1'), 'another /64 is another source')
})

t.test('a token bucket refills at its rate up to its burst', async (t) => {
  const bucket = new TokenBucket(10, 2, 0)
  t.ok(bucket.isFull(0))
  t.ok(bucket.canTake(0)); bucket.take()
  t.ok(bucket.canTake(0)); bucket.take()
  t.notOk(bucket.canTake(0), 'burst spent')
  t.notOk(bucket.canTake(99), 'not quite one token after 99 ms at 10/s')
  t.ok(bucket.canTake(100), 'one token after 100 ms')
  t.notOk(bucket.isFull(100))
  t.ok(bucket.isFull(10_000), 'never more than the burst')
  bucket.take(); bucket.take()
  t.notOk(bucket.canTake(10_000))
})

/** An Admission on a clock the test sets. */
function admission (given: Partial<LinkLimits>): { gate: Admission, at: (ms: number) => void } {
  let now = 0
  return { gate: new Admission(linkLimits(given), () => now), at: (ms) => { now = ms } }
}

function admitted (value: SourceEntry | LinkRefusal): SourceEntry {
  if (typeof value === 'string') throw new Error(`refused: ${value}`)
  return value
}

t.test('per-source limits come first, then the listener\'s, then the buckets; a refusal spends no token', async (t) => {
  const { gate } = admission({ maxHandshakes: 3, maxHandshakesPerSource: 2, maxLinks: 4, maxLinksPerSource: 3, handshakeBurst: 100, handshakeBurstPerSource: 100 })
  const a1 = admitted(gate.admit('198.51.100.1'))
  admitted(gate.admit('198.51.100.1'))
  t.equal(gate.admit('198.51.100.1'), LinkRefusal.HANDSHAKES_PER_SOURCE)
  gate.handshakeEnded(a1, true)
  admitted(gate.admit('198.51.100.1'))
  t.equal(gate.admit('198.51.100.1'), LinkRefusal.HANDSHAKES_PER_SOURCE, 'still two in progress')
  admitted(gate.admit('198.51.100.2'))
  t.equal(gate.admit('198.51.100.3'), LinkRefusal.HANDSHAKES, 'three in progress in all')
  t.equal(gate.handshakesInProgress, 3)
  t.same(gate.refusals, {
    refusedHandshakes: 1, refusedHandshakesPerSource: 2, refusedLinks: 0, refusedLinksPerSource: 0, refusedRate: 0, refusedRatePerSource: 0,
  })
})

t.test('links: a source\'s handshakes and links together, and the listener\'s', async (t) => {
  const { gate } = admission({ maxLinks: 3, maxLinksPerSource: 2 })
  gate.handshakeEnded(admitted(gate.admit('198.51.100.1')), true)
  const second = admitted(gate.admit('198.51.100.1'))
  t.equal(gate.admit('198.51.100.1'), LinkRefusal.LINKS_PER_SOURCE, 'one link and one handshake')
  gate.handshakeEnded(admitted(gate.admit('198.51.100.2')), true)
  t.equal(gate.admit('198.51.100.3'), LinkRefusal.LINKS, 'two links and a handshake in all')
  gate.handshakeEnded(second, false)
  admitted(gate.admit('198.51.100.3'))
  t.equal(gate.refusals.refusedLinks, 1)
  t.equal(gate.refusals.refusedLinksPerSource, 1)
})

t.test('rates: a source past its burst waits for its own tokens; the listener\'s bucket is left for others', async (t) => {
  const { gate, at } = admission({ handshakeRate: 10, handshakeBurst: 4, handshakeRatePerSource: 1, handshakeBurstPerSource: 2 })
  const close = (entry: SourceEntry): void => gate.handshakeEnded(entry, false)
  close(admitted(gate.admit('198.51.100.1')))
  close(admitted(gate.admit('198.51.100.1')))
  for (let i = 0; i < 5; i++) t.equal(gate.admit('198.51.100.1'), LinkRefusal.RATE_PER_SOURCE)
  close(admitted(gate.admit('198.51.100.2')))
  close(admitted(gate.admit('198.51.100.3')))
  t.equal(gate.admit('198.51.100.4'), LinkRefusal.RATE, 'four tokens in all, whoever asks')
  at(100)
  close(admitted(gate.admit('198.51.100.4')))
  t.equal(gate.admit('198.51.100.1'), LinkRefusal.RATE_PER_SOURCE, 'the source\'s bucket refills at its own rate')
  at(1000)
  close(admitted(gate.admit('198.51.100.1')))
  t.equal(gate.refusals.refusedRatePerSource, 6)
  t.equal(gate.refusals.refusedRate, 1)
})

t.test('the table forgets a source once nothing is open and its bucket has refilled', async (t) => {
  const { gate, at } = admission({})
  const entries = ['198.51.100.1', '2001:db8::1', '2001:db8::2'].map((address) => admitted(gate.admit(address)))
  t.equal(gate.trackedSources, 2, 'two addresses of one /64 are one source')
  gate.handshakeEnded(entries[0]!, true)
  gate.handshakeEnded(entries[1]!, false)
  gate.handshakeEnded(entries[2]!, false)
  t.equal(gate.trackedSources, 2, 'kept while a link is open, or while a bucket refills')
  at(1000)
  gate.sweep()
  t.equal(gate.trackedSources, 1, 'the refilled source without links is gone')
  gate.linkClosed(entries[0]!)
  t.equal(gate.trackedSources, 0, 'a source whose bucket is full goes as its last link closes')
  t.equal(gate.handshakesInProgress, 0)

  // Many sources, one connection each: the table grows with them and empties again.
  for (let i = 0; i < 150; i++) gate.handshakeEnded(admitted(gate.admit(`10.0.${i >> 8}.${i & 255}`)), false)
  t.equal(gate.trackedSources, 150)
  at(2000)
  gate.sweep()
  t.equal(gate.trackedSources, 0)
})

t.test('limits: defaults, and every field checked', async (t) => {
  t.same(linkLimits(), DEFAULT_LINK_LIMITS)
  t.equal(linkLimits({ maxLinks: 5 }).maxLinks, 5)
  t.throws(() => linkLimits({ handshakeBurstPerSource: 0 }), { code: 'LINK_BAD_OPTIONS', message: /handshakeBurstPerSource/ })
})
