/**
 * The cascade parameters (src/protocol/cascade-params.ts): one type, picked exactly from
 * whatever carries it, and the geometry it gives a cascade of n hops.
 */
import t from 'tap'
import { cascadeGeometry, cascadeParamsOf, CASCADE_PARAM_NAMES, type CascadeParams } from '../../src/protocol/cascade-params.js'
import { DEFAULT_SHAPING } from '../../src/protocol/shaping.js'

const PARAMS: CascadeParams = { cellSize: 2048, roundMs: 10, epochS: 3600, genesis: 1_700_000_000, shaping: DEFAULT_SHAPING.elastic }

t.test('cascadeParamsOf keeps the five parameters and nothing else', async (t) => {
  const config = { ...PARAMS, role: 'mix', keyDir: 'mix1', replayCapacity: 1024 }
  const params = cascadeParamsOf(config)
  t.same(params, PARAMS)
  t.same(Object.keys(params), [...CASCADE_PARAM_NAMES], 'in the signed order')
})

t.test('cascadeGeometry: the sizes of a cascade of n hops; a bad cell size throws', async (t) => {
  const geometry = cascadeGeometry(PARAMS, 4)
  t.equal(geometry.cellSize, 2048)
  t.equal(geometry.hops, 4)
  t.throws(() => cascadeGeometry({ cellSize: 1000 }, 4))
})
