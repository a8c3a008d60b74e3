/**
 * The per-circuit stream bound both endpoints share (src/protocol/stream-bound.ts, issue #17):
 * what a shaped circuit carries follows from the hop's queue bound and the circuit window, and
 * no exit may be configured below what a client of any profile opens on one circuit.
 */
import t from 'tap'
import { DEFAULT_MAX_QUEUED_CELLS } from '../../src/hop/hop-options.js'
import { DEFAULT_EXIT_LIMITS } from '../../src/exit/limits.js'
import { exitConfigSpec } from '../../src/cli/config/exit-config.js'
import { validate } from '../../src/base/schema.js'
import { SHAPED_WINDOWS, UNSHAPED_WINDOWS } from '../../src/protocol/flow-control.js'
import { SHAPING_PROFILES } from '../../src/protocol/shaping.js'
import { clientStreamsPerCircuit, EXIT_MIN_STREAMS_PER_CIRCUIT, HOP_QUEUE_CELLS, SHAPED_STREAMS_PER_CIRCUIT, UNSHAPED_STREAMS_PER_CIRCUIT } from '../../src/protocol/stream-bound.js'

t.test('shaped: two control cells per stream and a circuit window fit in a hop\'s queue', async (t) => {
  t.equal(HOP_QUEUE_CELLS, DEFAULT_MAX_QUEUED_CELLS, 'the hop\'s bound, as the protocol states it')
  t.ok(2 * SHAPED_STREAMS_PER_CIRCUIT + SHAPED_WINDOWS.circuit + 16 + SHAPED_WINDOWS.circuit / SHAPED_WINDOWS.circuitIncrement <= HOP_QUEUE_CELLS,
    'CONNECTED and END of every stream, a window of DATA, 16 LOOP echoes and the circuit SENDMEs')
  t.equal(SHAPED_STREAMS_PER_CIRCUIT, 500)
  t.equal(UNSHAPED_STREAMS_PER_CIRCUIT, 256)
  t.ok(UNSHAPED_WINDOWS.circuit > 0, 'unshaped hops queue nothing beyond a round: the bound spreads circuit windows')
})

t.test('every exit accepts what any client opens on one circuit', async (t) => {
  for (const profile of SHAPING_PROFILES) t.ok(clientStreamsPerCircuit(profile) <= EXIT_MIN_STREAMS_PER_CIRCUIT, profile)
  t.equal(DEFAULT_EXIT_LIMITS.maxStreamsPerCircuit, EXIT_MIN_STREAMS_PER_CIRCUIT, 'the exit\'s default is the floor')
  const base = { role: 'exit', keyDir: 'k', address: '127.0.0.1:9001', cascade: 'c.json' }
  t.throws(() => validate(exitConfigSpec, { ...base, maxStreamsPerCircuit: EXIT_MIN_STREAMS_PER_CIRCUIT - 1 }), 'a config below the floor is refused')
  t.equal(validate(exitConfigSpec, { ...base, maxStreamsPerCircuit: EXIT_MIN_STREAMS_PER_CIRCUIT }).maxStreamsPerCircuit, EXIT_MIN_STREAMS_PER_CIRCUIT)
})
