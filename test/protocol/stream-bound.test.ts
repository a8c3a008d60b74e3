/**
 * The per-circuit stream bound both endpoints share (src/protocol/stream-bound.ts, issue #17):
 * what a shaped circuit carries follows from the hop's shaped queue bound and the circuit
 * window (memory) and from the attach timeout at the slowest rate a burst opens at (time);
 * no exit may be configured below what a client of any profile opens on one circuit.
 */
import t from 'tap'
import { DEFAULT_MAX_QUEUED_CELLS, SHAPED_QUEUE_FACTOR } from '../../src/hop/hop-options.js'
import { MAX_LOOPS_WAITING } from '../../src/hop/circuit-shape.js'
import { DEFAULT_EXIT_LIMITS } from '../../src/exit/limits.js'
import { exitConfigSpec } from '../../src/cli/config/exit-config.js'
import { DEFAULT_ATTACH_TIMEOUT_MS } from '../../src/client/stream-request.js'
import { DEFAULT_PARAMS } from '../../src/directory/cascade-params-json.js'
import { validate } from '../../src/base/schema.js'
import { SHAPED_WINDOWS, UNSHAPED_WINDOWS } from '../../src/protocol/flow-control.js'
import { DEFAULT_SHAPING, loopDeadlineRounds, SHAPING_PROFILES } from '../../src/protocol/shaping.js'
import {
  ATTACH_TIMEOUT_MS, BURST_STREAMS_PER_CIRCUIT, clientStreamsPerCircuit, DEFAULT_ROUND_MS, EXIT_MIN_STREAMS_PER_CIRCUIT, HOP_SHAPED_QUEUE_CELLS,
  QUEUE_STREAMS_PER_CIRCUIT, SHAPED_STREAMS_PER_CIRCUIT, UNSHAPED_STREAMS_PER_CIRCUIT,
} from '../../src/protocol/stream-bound.js'

t.test('the constants are the ones the hop, the client and the cascade use', async (t) => {
  t.equal(HOP_SHAPED_QUEUE_CELLS, SHAPED_QUEUE_FACTOR * DEFAULT_MAX_QUEUED_CELLS, 'a shaped hop queue\'s least bound')
  t.equal(ATTACH_TIMEOUT_MS, DEFAULT_ATTACH_TIMEOUT_MS, 'the client\'s attach timeout')
  t.equal(DEFAULT_ROUND_MS, DEFAULT_PARAMS.roundMs, 'the default round')
})

t.test('memory: two control cells per stream and a circuit window fit in a shaped hop queue', async (t) => {
  const sendmes = SHAPED_WINDOWS.circuit / SHAPED_WINDOWS.circuitIncrement + SHAPED_WINDOWS.circuit / SHAPED_WINDOWS.streamIncrement
  t.ok(2 * QUEUE_STREAMS_PER_CIRCUIT + SHAPED_WINDOWS.circuit + MAX_LOOPS_WAITING + sendmes <= HOP_SHAPED_QUEUE_CELLS,
    'CONNECTED and END of every stream, a window of DATA, the LOOP echoes and the SENDMEs')
  t.equal(QUEUE_STREAMS_PER_CIRCUIT, 3572)
})

t.test('time: a full circuit\'s burst of BEGINs, a cell a round, is answered within the attach timeout', async (t) => {
  const roundTripRounds = loopDeadlineRounds(DEFAULT_SHAPING.strict, 8, false)
  t.ok(BURST_STREAMS_PER_CIRCUIT + roundTripRounds <= ATTACH_TIMEOUT_MS / DEFAULT_ROUND_MS, 'the last BEGIN leaves and is answered in time, even through seven mixes')
  t.equal(BURST_STREAMS_PER_CIRCUIT, 960)
})

t.test('the shaped bound is the smaller ceiling; a key\'s circuits hold 10,000 streams', async (t) => {
  t.equal(SHAPED_STREAMS_PER_CIRCUIT, Math.min(QUEUE_STREAMS_PER_CIRCUIT, BURST_STREAMS_PER_CIRCUIT))
  t.equal(SHAPED_STREAMS_PER_CIRCUIT, 960)
  for (const profile of ['strict', 'elastic'] as const) {
    t.ok((DEFAULT_SHAPING[profile].circuits - 1) * clientStreamsPerCircuit(profile) >= 10_000, `${profile}: on the K − 1 circuits that take streams`)
  }
  t.equal(UNSHAPED_STREAMS_PER_CIRCUIT, 256)
  t.ok(UNSHAPED_WINDOWS.circuit > 0, 'unshaped hops queue nothing beyond a round: the bound spreads circuit windows')
})

t.test('every exit accepts what any client opens on one circuit', async (t) => {
  for (const profile of SHAPING_PROFILES) t.ok(clientStreamsPerCircuit(profile) <= EXIT_MIN_STREAMS_PER_CIRCUIT, profile)
  t.equal(EXIT_MIN_STREAMS_PER_CIRCUIT, 1024)
  t.equal(DEFAULT_EXIT_LIMITS.maxStreamsPerCircuit, EXIT_MIN_STREAMS_PER_CIRCUIT, 'the exit\'s default is the floor')
  const base = { role: 'exit', keyDir: 'k', address: '127.0.0.1:9001', cascade: 'c.json' }
  t.throws(() => validate(exitConfigSpec, { ...base, maxStreamsPerCircuit: EXIT_MIN_STREAMS_PER_CIRCUIT - 1 }), 'a config below the floor is refused')
  t.equal(validate(exitConfigSpec, { ...base, maxStreamsPerCircuit: EXIT_MIN_STREAMS_PER_CIRCUIT }).maxStreamsPerCircuit, EXIT_MIN_STREAMS_PER_CIRCUIT)
})
