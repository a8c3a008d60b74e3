/**
 * Who owes a shaped hop a write of a round (src/hop/owed-writes.ts, PROTOCOL.md §12.1): a
 * neighbour whose shared circuits have a cell scheduled then. A predecessor mix keeps the
 * schedule of silenced circuits, a client that ended one does not; backward, only circuits
 * whose CREATE this hop passed on are known to the successor.
 */
import t from 'tap'
import { clientOwes, predecessorOwes, successorOwes } from '../../src/hop/owed-writes.js'
import type { LinkState } from '../../src/hop/predecessor-link.js'

interface FakeCircuit { ended?: boolean, silenced?: boolean, released?: boolean, createPending?: boolean, forward?: number, backward?: number }

/** A link state holding circuits with fixed cell counts per round (only what the functions read). */
function link (...circuits: FakeCircuit[]): LinkState {
  const map = new Map(circuits.map((c, i) => [i + 1, {
    ended: c.ended ?? false,
    silenced: c.silenced ?? false,
    shape: {
      released: c.released ?? true,
      create: c.createPending === true ? new Uint8Array(1) : null,
      cellsAt: (_round: number, direction: 'forward' | 'backward') => direction === 'forward' ? c.forward ?? 0 : c.backward ?? 0,
    },
  }]))
  return { circuits: map } as unknown as LinkState
}

t.test('forward: a link owes a round when a live circuit of it has a cell scheduled then', async (t) => {
  t.notOk(predecessorOwes(link(), 5), 'no circuit, nothing owed')
  t.notOk(predecessorOwes(link({ forward: 0 }, { forward: 0 }), 5), 'nothing scheduled')
  t.ok(predecessorOwes(link({ forward: 0 }, { forward: 1 }), 5), 'one cell scheduled')
  t.notOk(predecessorOwes(link({ forward: 1, ended: true }), 5), 'an ended circuit owes nothing')
  t.ok(predecessorOwes(link({ forward: 1, silenced: true }), 5), 'a mix keeps a silenced circuit\'s schedule')
  t.notOk(clientOwes(link({ forward: 1, silenced: true }), 5), 'a client that ended it sends nothing for it')
  t.ok(clientOwes(link({ forward: 1, silenced: true }, { forward: 2 }), 5), 'its other circuits still count')
})

t.test('backward: the successor owes a round for the circuits it knows', async (t) => {
  t.ok(successorOwes([link({ backward: 1 })], 5))
  t.notOk(successorOwes([link({ backward: 1, released: false })], 5), 'still held here: the successor has not seen it')
  t.notOk(successorOwes([link({ backward: 1, createPending: true })], 5), 'its CREATE not yet sent')
  t.ok(successorOwes([link({ backward: 0 }), link({ backward: 1, silenced: true })], 5), 'any link\'s circuit, silenced here or not')
  t.notOk(successorOwes([link({ forward: 3 })], 5), 'forward cells are not backward ones')
})
