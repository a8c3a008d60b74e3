/**
 * Writes test/fixtures/vectors/ratchet.json and descriptor.json. Run it only when the key
 * or descriptor formats change on purpose (and update docs/KEYS.md in the same commit):
 *   npx tsc -p . && node dist/test/node/keys/write-key-vectors.js
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { cryptoReady } from '../../../src/crypto/index.js'
import { descriptorVectors } from '../../directory/descriptor-vectors.js'
import { ratchetVectors } from './ratchet-vectors.js'

await cryptoReady()
const dir = join(process.cwd(), 'test', 'fixtures', 'vectors')
for (const [name, make] of Object.entries({ 'ratchet.json': ratchetVectors, 'descriptor.json': descriptorVectors })) {
  writeFileSync(join(dir, name), JSON.stringify(make(), null, 2) + '\n')
  console.log(`wrote ${join(dir, name)}`)
}
