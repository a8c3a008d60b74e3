/**
 * The committed protocol vectors (test/fixtures/vectors) recomputed on each backend in this
 * one process: the wire format does not depend on which libsodium build runs it.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { cryptoBackend, cryptoReady } from '../../src/crypto/index.js'
import { useCryptoBackend } from '../../src/crypto/select.js'
import { VECTOR_FILES } from '../fixtures/vector-cases.js'
import { backendsToTest } from './backends.js'

await cryptoReady()

for (const name of await backendsToTest(t)) {
  t.test(`${name} backend`, async (t) => {
    await useCryptoBackend(name)
    t.equal(cryptoBackend(), name)
    for (const [file, make] of Object.entries(VECTOR_FILES)) {
      t.test(`${file} matches byte for byte`, async (t) => {
        const committed = JSON.parse(readFileSync(join(process.cwd(), 'test', 'fixtures', 'vectors', file), 'utf8'))
        t.same(make(), committed)
      })
    }
  })
}
