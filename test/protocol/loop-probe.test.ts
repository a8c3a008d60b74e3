/**
 * LOOP probes: what the client seals it can open, and nothing else opens — not another
 * key's probe, not a probe with any bit changed, not a truncated one.
 */
import t from 'tap'
import fc from 'fast-check'
import { cryptoReady } from '../../src/crypto/index.js'
import { LOOP_PROBE_BYTES, LoopProbeKey } from '../../src/protocol/loop-probe.js'

await cryptoReady()

const probeArb = fc.record({ seq: fc.maxSafeNat(), sentMs: fc.maxSafeNat() })

t.test('a probe opens to the sequence number and time it was sealed with', async (t) => {
  const key = new LoopProbeKey()
  fc.assert(fc.property(probeArb, (probe) => {
    const sealed = key.seal(probe)
    const opened = key.open(sealed)
    return sealed.length === LOOP_PROBE_BYTES && opened !== null && opened.seq === probe.seq && opened.sentMs === probe.sentMs
  }), { numRuns: 200 })
  t.pass('200 random probes round-trip')
})

t.test('the zero padding after a probe in a relay payload is ignored', async (t) => {
  const key = new LoopProbeKey()
  const padded = new Uint8Array(LOOP_PROBE_BYTES + 100)
  padded.set(key.seal({ seq: 7, sentMs: 1234 }))
  t.same(key.open(padded), { seq: 7, sentMs: 1234 })
})

t.test('any flipped bit makes a probe unreadable', async (t) => {
  const key = new LoopProbeKey()
  const sealed = key.seal({ seq: 42, sentMs: 1_700_000_000_000 })
  let opened = 0
  for (let bit = 0; bit < LOOP_PROBE_BYTES * 8; bit++) {
    const copy = Uint8Array.from(sealed)
    copy[bit >> 3]! ^= 1 << (bit & 7)
    if (key.open(copy) !== null) opened++
  }
  t.equal(opened, 0, `none of the ${LOOP_PROBE_BYTES * 8} one-bit changes opened`)
})

t.test('another key cannot open or forge a probe', async (t) => {
  const mine = new LoopProbeKey()
  const theirs = new LoopProbeKey()
  t.equal(theirs.open(mine.seal({ seq: 1, sentMs: 2 })), null, 'another client cannot read it')
  t.equal(mine.open(theirs.seal({ seq: 1, sentMs: 2 })), null, 'a hop with its own key cannot forge one')
})

t.test('truncated data and non-probes give null, never throw', async (t) => {
  const key = new LoopProbeKey()
  const sealed = key.seal({ seq: 3, sentMs: 4 })
  t.equal(key.open(sealed.subarray(0, LOOP_PROBE_BYTES - 1)), null)
  t.equal(key.open(new Uint8Array(0)), null)
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (junk) => key.open(junk) === null), { numRuns: 200 })
})

t.test('a fixed key and nonce give the same bytes (usable as a vector)', async (t) => {
  const fixedKey = new Uint8Array(32).fill(1)
  const nonce = new Uint8Array(24).fill(2)
  const a = new LoopProbeKey(fixedKey).seal({ seq: 9, sentMs: 10 }, nonce)
  const b = new LoopProbeKey(fixedKey).seal({ seq: 9, sentMs: 10 }, nonce)
  t.same(a, b)
  t.same(a.subarray(0, 24), nonce, 'the nonce is sent in clear first')
})

t.test('bad input to seal and the constructor is refused', async (t) => {
  const key = new LoopProbeKey()
  t.throws(() => key.seal({ seq: -1, sentMs: 0 }), RangeError)
  t.throws(() => key.seal({ seq: 0, sentMs: 1.5 }), RangeError)
  t.throws(() => new LoopProbeKey(new Uint8Array(31)), RangeError)
})

t.test('a wiped key no longer opens its probes', async (t) => {
  const key = new LoopProbeKey()
  const sealed = key.seal({ seq: 5, sentMs: 6 })
  key.wipe()
  t.equal(key.open(sealed), null)
})
