/**
 * The short seeded fuzz run of `npm test`: every decoder target (fuzz/targets) with 2,000
 * inputs (the admin HTTP server 300 requests), seed 1, no escapes. `npm run fuzz` runs the
 * same targets with a million inputs each.
 */
import t from 'tap'
import { cryptoReady } from '../../src/crypto/index.js'
import { runTarget } from '../../fuzz/engine.js'
import { ALL_TARGETS } from '../../fuzz/targets/index.js'

await cryptoReady()

for (const spec of ALL_TARGETS) {
  t.test(spec.name, async (t) => {
    const inputs = spec.name === 'admin-http' ? 300 : 2000
    const report = await runTarget(spec, { seed: 1, inputs, timeCapMs: 60_000 })
    const first = report.distinctEscapes[0]
    t.equal(report.escapes, 0, first === undefined ? 'no escapes' : `escape: ${first.error}: ${first.message}; input ${first.inputHex.slice(0, 200)}`)
    t.equal(report.inputs, inputs, 'every input ran')
    // A target whose corpus never decodes would fuzz nothing but the first check.
    t.ok(Object.keys(report.outcomes).length + Object.keys(report.codes).length >= 2, `varied results (${Object.keys(report.outcomes).join(', ')})`)
  })
}
