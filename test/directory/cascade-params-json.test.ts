/**
 * The JSON form of the cascade parameters (src/directory/cascade-params-json.ts): encode then
 * decode gives the same parameters; config files may leave fields out and get the defaults;
 * descriptors may not.
 */
import t from 'tap'
import { cryptoReady } from '../../src/crypto/index.js'
import { cascadeParamFields, cascadeParamFieldsWithDefaults, cascadeParamsToJson, DEFAULT_PARAMS } from '../../src/directory/cascade-params-json.js'
import { makeCascade } from '../../src/directory/cascade.js'
import { cascadeFromJson, cascadeToJson } from '../../src/directory/cascade-json.js'
import { obj, validate } from '../../src/base/schema.js'
import { cascadeParamsOf, scheduleOf, type CascadeParams } from '../../src/protocol/cascade-params.js'
import { DEFAULT_SHAPING } from '../../src/protocol/shaping.js'

await cryptoReady()

const PARAMS: CascadeParams = { cellSize: 4096, roundMs: 20, epochS: 600, genesis: 1_700_000_000, shaping: DEFAULT_SHAPING.elastic }
const descriptorSpec = obj({ ...cascadeParamFields })
const decode = (json: unknown): CascadeParams => cascadeParamsOf(validate(descriptorSpec, json))

t.test('encode then decode is the identity, shaping written in full', async (t) => {
  const json = cascadeParamsToJson(PARAMS)
  t.same(json, { cellSize: 4096, roundMs: 20, epochS: 600, genesis: 1_700_000_000, shaping: { profile: 'elastic', rates: [0.2, 1, 2, 8, 32, 64, 128], slotMs: 2000, circuits: 12, circuitSlots: 300, kMin: 1, createHoldRounds: 100, loopsPerSlot: 4, loopJitterRounds: 8, clientRate: 128 } })
  t.same(decode(JSON.parse(JSON.stringify(json))), PARAMS)
})

t.test('descriptors must give every field; bounds are checked', async (t) => {
  const json = cascadeParamsToJson(PARAMS)
  for (const name of ['cellSize', 'roundMs', 'epochS', 'genesis', 'shaping'] as const) {
    const { [name]: _, ...rest } = json
    t.throws(() => decode(rest), { code: 'CONFIG_INVALID' }, `without ${name}`)
  }
  t.throws(() => decode({ ...json, cellSize: 256 }), { code: 'CONFIG_INVALID' })
  t.throws(() => decode({ ...json, roundMs: 0 }), { code: 'CONFIG_INVALID' })
  t.throws(() => decode({ ...json, epochS: 2 ** 32 }), { code: 'CONFIG_INVALID' })
})

t.test('config files take the defaults for what they leave out', async (t) => {
  const configSpec = obj({ ...cascadeParamFieldsWithDefaults('strict') })
  const params = cascadeParamsOf(validate(configSpec, {}))
  t.same(params, { ...DEFAULT_PARAMS, shaping: DEFAULT_SHAPING.strict })
  t.same(scheduleOf(PARAMS), { epochS: 600, genesisS: 1_700_000_000 })
})

t.test('the unsigned cascade file writes the same fields, without shaping, and reads them back', async (t) => {
  const cascade = makeCascade({ ...PARAMS, shaping: DEFAULT_SHAPING.off, hops: [{ role: 'exit', address: { host: '127.0.0.1', port: 9001 }, linkKey: new Uint8Array(32).fill(1), onionKey: new Uint8Array(32).fill(2) }] })
  const json = cascadeToJson(cascade)
  const { shaping: _, ...fields } = cascadeParamsToJson(cascade.params)
  t.same(Object.keys(json), ['version', ...Object.keys(fields), 'hops'], 'version, the parameters in their order, the hops')
  const back = cascadeFromJson(JSON.parse(JSON.stringify(json)))
  t.same(back.params, cascade.params)
  t.same(back.id, cascade.id)
})
