/**
 * The committed test vectors, recomputed byte for byte. A change here means the wire
 * format changed: regenerate with `npm run vectors` only on purpose (see PROTOCOL.md §9).
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { cryptoReady } from '../../src/crypto/index.js'
import { VECTOR_FILES } from '../fixtures/vector-cases.js'

await cryptoReady()

for (const [name, make] of Object.entries(VECTOR_FILES)) {
  t.test(`${name} matches the protocol code byte for byte`, async (t) => {
    const committed = JSON.parse(readFileSync(join(process.cwd(), 'test', 'fixtures', 'vectors', name), 'utf8'))
    t.same(make(), committed)
  })
}
