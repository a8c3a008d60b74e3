/**
 * The shaping schedule as every party computes it: rates spread evenly over rounds, counts
 * that agree for the same round wherever they are computed, creation slots, the control byte,
 * and parameter checks that name the field.
 */
import t from 'tap'
import fc from 'fast-check'
import {
  cellsInRound, checkShaping, decodeBackwardRung, decodeForwardRung, DEFAULT_SHAPING, encodeRungRequest, isCreationSlot, rungRequestParity,
  loopDeadlineRounds, MAX_RATE_MILLI, MAX_RUNGS, MILLI, roundAt, slotAt, wakeDelayRounds, type ShapingParams,
} from '../../src/protocol/shaping.js'

t.test('any m consecutive rounds carry m·rate cells, give or take one', async (t) => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 256 * MILLI }), fc.integer({ min: 0, max: 2 ** 48 }), fc.integer({ min: 1, max: 500 }), (rate, start, m) => {
    let total = 0
    for (let n = start; n < start + m; n++) {
      const cells = cellsInRound(rate, n)
      if (cells < Math.floor(rate / MILLI) || cells > Math.ceil(rate / MILLI)) return false
      total += cells
    }
    return Math.abs(total - m * rate / MILLI) < 1 + 1e-9
  }), { numRuns: 300 })
  t.pass('300 random rates and windows')
})

t.test('rounds of today\'s clock at the highest rate, even 1 ms rounds, count exactly', async (t) => {
  const round = Math.floor(Date.UTC(2026, 10, 26) / 1)
  let total = 0
  for (let n = round; n < round + 1000; n++) total += cellsInRound(256 * MILLI, n) + cellsInRound(141_985, n)
  t.equal(total, 256 * 1000 + 141_985)
})

t.test('a whole-number rate gives exactly that many cells every round', async (t) => {
  for (const n of [0, 1, 17, 2 ** 38]) t.equal(cellsInRound(4 * MILLI, n), 4)
})

t.test('0.1 cells per round: one cell in every ten rounds', async (t) => {
  const counts = Array.from({ length: 100 }, (_, i) => cellsInRound(100, 1_000_000 + i))
  t.equal(counts.reduce((a, b) => a + b, 0), 10)
  for (let block = 0; block < 10; block++) t.equal(counts.slice(block * 10, block * 10 + 10).reduce((a, b) => a + b, 0), 1)
})

t.test('rounds and slots are counted from the Unix epoch', async (t) => {
  t.equal(roundAt(1_700_000_000_005, 10), 170_000_000_000)
  t.equal(roundAt(1_700_000_000_009, 10), 170_000_000_000)
  t.equal(slotAt(1_700_000_009_999, 10_000), 170_000_000)
  t.equal(slotAt(1_700_000_010_000, 10_000), 170_000_001)
})

t.test('one circuit starts every circuitSlots / circuits slots', async (t) => {
  const params: ShapingParams = { ...DEFAULT_SHAPING.strict, circuits: 3, circuitSlots: 12 }
  const starts = Array.from({ length: 24 }, (_, s) => s).filter((s) => isCreationSlot(params, s))
  t.same(starts, [0, 4, 8, 12, 16, 20])
})

t.test('the control byte carries a forward and a backward rung, and nothing else reads as one', async (t) => {
  const seen = new Set<number>()
  for (let forward = 0; forward < 8; forward++) {
    for (let backward = 0; backward < 8; backward++) {
      for (const slot of [6, 7]) {
        const control = encodeRungRequest(forward, backward, slot)
        t.equal(decodeForwardRung(control), forward)
        t.equal(decodeBackwardRung(control), backward)
        t.equal(rungRequestParity(control), slot % 2, 'the target slot\'s parity')
        seen.add(control)
      }
    }
  }
  t.equal(seen.size, 128, 'every pair and parity has its own byte')
  t.equal(encodeRungRequest(5, 2, 1), 0x80 | 0x40 | 5 << 3 | 2, 'layout: 0x80 | p << 6 | forward << 3 | backward')
  t.equal(decodeForwardRung(0), -1, 'version-1 cells (control 0) ask for nothing')
  t.equal(decodeBackwardRung(0), -1)
  let read = 0
  for (let byte = 0; byte < 256; byte++) if (decodeForwardRung(byte) !== -1) read++
  t.equal(read, 128, 'exactly the bytes with the flag are requests')
  t.throws(() => encodeRungRequest(8, 0), RangeError)
  t.throws(() => encodeRungRequest(0, -1), RangeError)
})

t.test('the elastic ladder: the bottom rung as before, the top within a hop\'s bounds', async (t) => {
  const ladder = DEFAULT_SHAPING.elastic.ratesMilli
  t.equal(ladder[0], 200, 'idle cover unchanged: 0.2 cells per round per circuit each way')
  t.ok(ladder.length <= MAX_RUNGS, 'fits the control byte')
  t.ok(ladder[ladder.length - 1]! >= 100 * MILLI, 'a top rung of at least 100 cells per round (≈ 20 MB/s at 2 KiB, 10 ms)')
  t.ok(ladder[ladder.length - 1]! <= MAX_RATE_MILLI, 'within MAX_RATE_MILLI')
  t.ok(8 * ladder[ladder.length - 1]! / MILLI <= 2048, 'a hop\'s default queue (2048 cells) holds eight rounds of the top rung')
  t.throws(() => checkShaping({ ...DEFAULT_SHAPING.elastic, ratesMilli: [1, 2, 3, 4, 5, 6, 7, 8, 9] }, 10), /rates/, 'nine rungs do not fit')
})

t.test('wake delays (pipelined rounds): forward the next round, backward two (a round more per four hops beyond)', async (t) => {
  t.equal(wakeDelayRounds('forward', 3), 1)
  t.equal(wakeDelayRounds('backward', 3), 2)
  t.equal(wakeDelayRounds('backward', 4), 2)
  t.equal(wakeDelayRounds('backward', 5), 3)
})

t.test('the defaults are valid for 10 ms rounds', async (t) => {
  for (const params of Object.values(DEFAULT_SHAPING)) t.doesNotThrow(() => checkShaping(params, 10), params.profile)
})

t.test('bad parameters are refused with the field named', async (t) => {
  const cases: Array<[Partial<ShapingParams>, RegExp]> = [
    [{ ratesMilli: [] }, /shaping\.rates/],
    [{ ratesMilli: [1000, 1000] }, /shaping\.rates/],
    [{ ratesMilli: [0, 1000] }, /shaping\.rates/],
    [{ ratesMilli: [4000, 1000] }, /ascending/],
    [{ slotMs: 15 }, /shaping\.slotMs/],
    [{ circuits: 0 }, /shaping\.circuits/],
    [{ circuitSlots: 61 }, /shaping\.circuitSlots/],
    [{ kMin: 0 }, /shaping\.kMin/],
    [{ createHoldRounds: -1 }, /shaping\.createHoldRounds/],
    [{ loopsPerSlot: 1.5 }, /shaping\.loopsPerSlot/],
    [{ loopJitterRounds: 5000 }, /shaping\.loopJitterRounds/],
  ]
  for (const [change, message] of cases) {
    t.throws(() => checkShaping({ ...DEFAULT_SHAPING.elastic, ...change }, 10), { code: 'PROTO_SHAPING_BAD_PARAMS', message }, JSON.stringify(change))
  }
  t.throws(() => checkShaping({ ...DEFAULT_SHAPING.strict, ratesMilli: [1000, 2000] }, 10), /exactly 1/)
  t.throws(() => checkShaping({ ...DEFAULT_SHAPING.off, ratesMilli: [1000] }, 10), /exactly 0/)
})

t.test('the loop deadline bounds every wait an honest cascade can add', async (t) => {
  const params = DEFAULT_SHAPING.elastic
  const hops = 4
  const plain = loopDeadlineRounds(params, hops, false)
  // 2 client rounds + 1 per hop each way + a wait of up to 1/rate rounds at each hop and the client + J.
  const slotWait = Math.ceil(MILLI / params.ratesMilli[0]!)
  t.equal(plain, 2 + 2 * hops + (hops + 1) * slotWait + params.loopJitterRounds)
  t.equal(loopDeadlineRounds(params, hops, true), plain + params.createHoldRounds * hops, 'a LOOP with a CREATE may wait at every hop')
  t.ok(loopDeadlineRounds(DEFAULT_SHAPING.strict, hops, false) < plain, 'a faster lowest rate, a shorter bound')
})
