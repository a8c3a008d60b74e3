/**
 * Epoch arithmetic and the key-acceptance rule of R18: current always, previous only in the
 * grace window after the boundary, next only in the grace window before it.
 */
import t from 'tap'
import fc from 'fast-check'
import {
  acceptedEpochs, EpochClock, epochAt, epochEndS, epochSchedule, epochStartS, keyAcceptance, nextAcceptanceChangeS,
  oldestNeededEpoch, DEFAULT_EPOCH_S, DEFAULT_GRACE_S,
} from '../../src/protocol/epoch.js'

const schedule = epochSchedule({ epochS: 3600, genesisS: 1_000_000 })
const G = 120

t.test('epoch numbers, starts and ends follow floor((t - genesis) / epochS)', async (t) => {
  t.equal(epochAt(schedule, 1_000_000), 0)
  t.equal(epochAt(schedule, 1_003_599.9), 0)
  t.equal(epochAt(schedule, 1_003_600), 1)
  t.equal(epochStartS(schedule, 5), 1_018_000)
  t.equal(epochEndS(schedule, 5), 1_021_600)
  t.equal(epochAt(schedule, epochEndS(schedule, 5)), 6, 'an epoch ends where the next starts')
  t.same(epochSchedule(), { epochS: DEFAULT_EPOCH_S, genesisS: 0 }, 'defaults: hourly from the Unix epoch')
})

t.test('around a boundary: next only within G before it, previous only within G after it', async (t) => {
  const boundary = epochStartS(schedule, 10)
  const at = (dt: number): number[] => acceptedEpochs(schedule, boundary + dt, G)
  t.same(at(-G - 1), [9], 'before the window: current only')
  t.same(at(-G), [9, 10], 'the next key opens exactly G before the boundary')
  t.same(at(-1), [9, 10])
  t.same(at(0), [9, 10], 'at the boundary: new current plus the previous')
  t.equal(keyAcceptance(schedule, 9, boundary, G), 'previous')
  t.equal(keyAcceptance(schedule, 10, boundary, G), 'current')
  t.same(at(G - 0.001), [9, 10])
  t.same(at(G), [10], 'the previous key closes exactly G after the boundary')
  t.equal(keyAcceptance(schedule, 11, boundary, G), 'refused', 'two epochs ahead: never')
  t.equal(keyAcceptance(schedule, 8, boundary, G), 'refused', 'two epochs back: never')
  t.equal(keyAcceptance(schedule, 10, boundary - G, G), 'next')
})

t.test('the oldest key still needed, and when the accepted set next changes', async (t) => {
  const boundary = epochStartS(schedule, 10)
  t.equal(oldestNeededEpoch(schedule, boundary + 5, G), 9, 'in the grace window the previous key is still needed')
  t.equal(oldestNeededEpoch(schedule, boundary + G, G), 10)
  t.equal(nextAcceptanceChangeS(schedule, boundary, G), boundary + G)
  t.equal(nextAcceptanceChangeS(schedule, boundary + G, G), boundary + 3600 - G)
  t.equal(nextAcceptanceChangeS(schedule, boundary + 3600 - G, G), boundary + 3600)
  t.same(acceptedEpochs(epochSchedule({ epochS: 10 }), 1, 2), [0], 'epoch 0 has no previous')
})

t.test('EpochClock answers the same questions about an injected "now"', async (t) => {
  let nowMs = epochStartS(schedule, 7) * 1000 - 30_000
  const clock = new EpochClock({ schedule, graceS: G, clock: () => nowMs })
  t.equal(clock.current(), 6)
  t.same(clock.accepted(), [6, 7])
  t.equal(clock.acceptance(7), 'next')
  t.equal(clock.msUntilNextChange(), 30_000)
  nowMs += 30_000 + G * 1000
  t.same(clock.accepted(), [7])
  t.equal(clock.oldestNeeded(), 7)
  t.equal(new EpochClock().graceS, DEFAULT_GRACE_S, 'default grace window: 2 minutes')
  t.equal(new EpochClock({ schedule: epochSchedule({ epochS: 4 }) }).graceS, 1, 'short test epochs shrink the default grace to a quarter epoch')
})

t.test('bad schedules, grace windows and times are refused with typed errors', async (t) => {
  t.throws(() => epochSchedule({ epochS: 0 }), { code: 'KEYS_BAD_OPTION' })
  t.throws(() => epochSchedule({ epochS: 1.5 }), { code: 'KEYS_BAD_OPTION' })
  t.throws(() => epochSchedule({ genesisS: -1 }), { code: 'KEYS_BAD_OPTION' })
  t.throws(() => acceptedEpochs(schedule, 1_500_000, 1800), { code: 'KEYS_BAD_OPTION' }, 'G must be under half an epoch')
  t.throws(() => new EpochClock({ schedule, graceS: -1 }), { code: 'KEYS_BAD_OPTION' })
  t.throws(() => epochAt(schedule, 999_999), { code: 'KEYS_BAD_EPOCH' }, 'before genesis')
  t.throws(() => epochStartS(schedule, -1), { code: 'KEYS_BAD_EPOCH' })
  t.throws(() => keyAcceptance(schedule, 0.5, 1_000_000, G), { code: 'KEYS_BAD_EPOCH' })
})

t.test('property: one or two consecutive epochs accepted, always including the current one', async (t) => {
  fc.assert(fc.property(fc.integer({ min: 1_000_000, max: 2_000_000_000 }), fc.integer({ min: 0, max: 1799 }), (time, grace) => {
    const accepted = acceptedEpochs(schedule, time, grace)
    const current = epochAt(schedule, time)
    if (!accepted.includes(current) || accepted.length < 1 || accepted.length > 2) return false
    if (accepted.length === 2 && accepted[1] !== accepted[0]! + 1) return false
    return [current - 1, current, current + 1].every((e) => e < 0 || accepted.includes(e) === (keyAcceptance(schedule, e, time, grace) !== 'refused'))
  }), { numRuns: 2000 })
  t.pass('held for every sampled time and grace window')
})
