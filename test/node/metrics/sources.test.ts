/**
 * The real node classes fit the shapes src/node/metrics reads (sources.ts). This is checked
 * by the compiler: a renamed or retyped stats field breaks the build here instead of
 * silently exporting nothing. The test body only records that it compiled.
 */
import t from 'tap'
import type { ClientNode } from '../../../src/client/client-node.js'
import type { ExitNode } from '../../../src/exit/exit-node.js'
import type { LinkListener } from '../../../src/link/listen.js'
import type { MixNode } from '../../../src/mix/mix-node.js'
import type { ClientSource, ExitSource, ListenerSource, MixSource } from '../../../src/node/metrics/sources.js'

// Each function only compiles if its node type is assignable to the source interface.
const fits = [
  (node: MixNode): MixSource => node,
  (node: ExitNode): ExitSource => node,
  (node: ClientNode): ClientSource => node,
  (listener: LinkListener): ListenerSource => listener,
]

t.test('the mix, exit, client and link listener classes fit the metrics source interfaces', async (t) => {
  t.equal(fits.length, 4, 'all four assignability checks compiled')
})
