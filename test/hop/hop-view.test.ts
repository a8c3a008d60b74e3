/**
 * The hop view (src/hop/hop-view.ts): the counters and state a mix and the exit show, read
 * from their hop core through one set of getters; both node classes carry all of them.
 */
import t from 'tap'
import { exposeHopView, type HopView } from '../../src/hop/hop-view.js'
import type { HopCore } from '../../src/hop/hop-core.js'
import { ExitNode } from '../../src/exit/exit-node.js'
import { MixNode } from '../../src/mix/mix-node.js'

const MEMBERS = ['stats', 'circuits', 'lastRound', 'missedRounds', 'isShaped', 'predecessorLinks', 'keyEpochs', 'replayTags', 'observeRounds'] as const satisfies ReadonlyArray<keyof HopView>

function fakeCore (n: number) {
  return {
    stats: { rounds: n },
    circuits: n,
    lastRound: n + 1,
    missedRounds: n + 2,
    shaping: n === 1 ? null : {},
    predecessorLinks: n + 3,
    keyEpochs: [n],
    replayTags: (epoch: number) => epoch * n,
    roundObserver: undefined as unknown,
  }
}

interface Node extends HopView {}
class Node {
  static {
    exposeHopView(Node.prototype, (node) => node.core as unknown as HopCore)
  }

  constructor (readonly core: ReturnType<typeof fakeCore>) {}
}

t.test('each member reads the node\'s own core', async (t) => {
  const a = new Node(fakeCore(1))
  const b = new Node(fakeCore(2))
  t.same([a.circuits, a.lastRound, a.missedRounds, a.isShaped, a.predecessorLinks, a.keyEpochs, a.replayTags(10)], [1, 2, 3, false, 4, [1], 10])
  t.same([b.circuits, b.lastRound, b.missedRounds, b.isShaped, b.predecessorLinks, b.keyEpochs, b.replayTags(10)], [2, 3, 4, true, 5, [2], 20])
  t.equal(a.stats, a.core.stats as unknown)
  const observer = { onRound: () => {} }
  b.observeRounds(observer as never)
  t.equal(b.core.roundObserver, observer)
  t.equal(a.core.roundObserver, undefined)
  b.observeRounds(undefined)
  t.equal(b.core.roundObserver, undefined)
})

t.test('MixNode and ExitNode both expose every member', async (t) => {
  for (const cls of [MixNode, ExitNode]) {
    const missing = MEMBERS.filter((name) => Object.getOwnPropertyDescriptor(cls.prototype, name) === undefined)
    t.same(missing, [], cls.name)
  }
})
