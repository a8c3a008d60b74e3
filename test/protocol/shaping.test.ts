/**
 * The shaping schedule as every party computes it: rates spread evenly over rounds, counts
 * that agree for the same round wherever they are computed, creation slots, the control byte,
 * and parameter checks that name the field.
 */
import t from 'tap'
import fc from 'fast-check'
import {
  cellsInRound, checkShaping, decodeRungRequest, DEFAULT_SHAPING, encodeRungRequest, isCreationSlot, rungRequestParity,
  loopDeadlineRounds, MILLI, roundAt, slotAt, type ShapingParams,
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

t.test('the control byte carries a rung, and nothing else reads as one', async (t) => {
  for (let rung = 0; rung < 16; rung++) {
    for (const slot of [6, 7]) {
      const control = encodeRungRequest(rung, slot)
      t.equal(decodeRungRequest(control), rung)
      t.equal(rungRequestParity(control), slot % 2, 'the target slot\'s parity')
    }
  }
  t.equal(decodeRungRequest(0), -1, 'version-1 cells (control 0) ask for nothing')
  let read = 0
  for (let byte = 0; byte < 256; byte++) if (decodeRungRequest(byte) !== -1) read++
  t.equal(read, 32, 'exactly the 32 encoded values (16 rungs × 2 target parities) are requests')
  t.throws(() => encodeRungRequest(16), RangeError)
  t.throws(() => encodeRungRequest(-1), RangeError)
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
