/**
 * RoundStrategy: a flush releases exactly the cells added since the previous flush, keeps each
 * circuit's order, and leaves the queue empty for the next round.
 */
import t from 'tap'
import { cryptoReady } from '../../src/crypto/index.js'
import { Interleaver } from '../../src/hop/interleave.js'
import { RoundStrategy, type MixStrategy } from '../../src/hop/strategy.js'

await cryptoReady()

interface Cell { circuit: number, seq: number }

function keepsOrder (cells: readonly Cell[]): boolean {
  const last = new Map<number, number>()
  for (const cell of cells) {
    if (cell.seq !== (last.get(cell.circuit) ?? -1) + 1) return false
    last.set(cell.circuit, cell.seq)
  }
  return true
}

t.test('a flush releases exactly the cells added since the last one, each circuit in order', async (t) => {
  const strategy: MixStrategy<Cell> = new RoundStrategy<Cell>((cell) => cell.circuit)
  const out: Cell[] = []
  const first: Cell[] = []
  for (let seq = 0; seq < 20; seq++) {
    for (const circuit of [0, 1, 2]) first.push({ circuit, seq })
  }
  first.forEach((cell) => strategy.add(cell))
  t.equal(strategy.pending, 60)
  strategy.flush(out)
  t.equal(out.length, 60, 'all 60 cells released')
  t.same(new Set(out), new Set(first), 'the same cells')
  t.ok(keepsOrder(out), 'each circuit in FIFO order')
  t.equal(strategy.pending, 0, 'queue empty after the flush')

  strategy.flush(out)
  t.same(out, [], 'a round with no arrivals releases nothing')

  const late = { circuit: 7, seq: 0 }
  strategy.add(late)
  strategy.flush(out)
  t.same(out, [late], 'a cell added after a flush waits for the next one')
})

t.test('a bad label throws and leaves the round queued', async (t) => {
  const strategy = new RoundStrategy<Cell>((cell) => cell.circuit, new Interleaver({ labelLimit: 10 }))
  strategy.add({ circuit: 1, seq: 0 })
  strategy.add({ circuit: 99, seq: 0 })
  const out: Cell[] = []
  t.throws(() => strategy.flush(out), { code: 'MIX_BAD_LABEL' })
  t.equal(strategy.pending, 2)
})
