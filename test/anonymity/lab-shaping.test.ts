/**
 * The lab measures what ships: its round length and shaping come from the product's own
 * defaults (DEFAULT_PARAMS, DEFAULT_SHAPING) except circuit lives, which last a lab run's
 * LAB_CIRCUIT_LIFE_MS; QUICK_LAB and flags override them.
 */
import t from 'tap'
import { DEFAULT_PARAMS } from '../../src/directory/cascade-params-json.js'
import { checkShaping, DEFAULT_SHAPING, SHAPING_PROFILES } from '../../src/protocol/shaping.js'
import { LAB_CIRCUIT_LIFE_MS, labRoundMs, labShaping, QUICK_LAB } from '../../anonymity/lab-shaping.js'

t.test('by default every profile is the shipped one but for circuit lives', async (t) => {
  t.equal(labRoundMs(), DEFAULT_PARAMS.roundMs)
  for (const profile of SHAPING_PROFILES) {
    const lab = labShaping(profile)
    const { circuitSlots, ...rest } = lab
    const { circuitSlots: shippedSlots, ...shipped } = DEFAULT_SHAPING[profile]
    t.same(rest, shipped, `${profile}: rates, slot, circuits, loops and CREATE holding as shipped`)
    t.ok(circuitSlots < shippedSlots, `${profile}: lab circuits live ${circuitSlots} slots, not ${shippedSlots}`)
    t.equal(circuitSlots % lab.circuits, 0, 'a whole number of slots between new circuits')
    t.ok(circuitSlots * lab.slotMs >= LAB_CIRCUIT_LIFE_MS, 'a circuit lives long enough for a bulk download')
    t.doesNotThrow(() => checkShaping(lab, labRoundMs()), 'a valid shaping for the round length')
  }
})

t.test('QUICK_LAB and overrides replace the shipped values', async (t) => {
  const quick = labShaping('elastic', QUICK_LAB)
  t.same(quick.ratesMilli, [100, 250, 1000, 2000])
  t.equal(quick.slotMs, 1000)
  t.equal(quick.circuits, 2)
  t.equal(quick.circuitSlots, 16)
  t.equal(labRoundMs(QUICK_LAB), 20)
  t.doesNotThrow(() => checkShaping(quick, 20))
  const mixed = labShaping('strict', { roundMs: 30, overrides: { slotMs: 1000, circuits: 2 } })
  t.equal(mixed.slotMs, 990, 'the slot is a whole number of rounds')
  t.equal(mixed.circuits, 2)
  t.equal(mixed.circuitSlots, 18, 'the shortest multiple of the circuits lasting the lab life')
  t.same(mixed.ratesMilli, DEFAULT_SHAPING.strict.ratesMilli)
})
