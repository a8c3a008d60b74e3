/**
 * The onion-key ratchet: the committed vectors byte for byte, and the one-way structure
 * (every later key derivable from a seed, inputs left alone, intermediates distinct).
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { cryptoReady, equal, x25519, x25519KeyPair } from '../../../src/crypto/index.js'
import { nextSeed, onionKeyPair, onionSecretKey, ratchetSeed, MAX_RATCHET_STEPS } from '../../../src/node/keys/ratchet.js'
import { hex, labelled, ratchetVectors } from './ratchet-vectors.js'

await cryptoReady()

t.test('ratchet.json matches the ratchet byte for byte (epochs 0..3 from a fixed seed)', async (t) => {
  const committed = JSON.parse(readFileSync(join(process.cwd(), 'test', 'fixtures', 'vectors', 'ratchet.json'), 'utf8'))
  t.same(ratchetVectors(), committed)
  t.equal(committed.epochs.length, 4)
})

t.test('seed_{e+k} is k applications of nextSeed, and the caller\'s seed is never modified', async (t) => {
  const seed = labelled('ratchet property')
  const before = Uint8Array.from(seed)
  let manual = seed
  for (let i = 0; i < 5; i++) manual = nextSeed(manual)
  t.ok(equal(ratchetSeed(seed, 5), manual))
  t.ok(equal(ratchetSeed(seed, 0), seed), 'zero steps is a copy')
  t.not(ratchetSeed(seed, 0), seed, '… a fresh array, not the same one')
  t.ok(equal(seed, before), 'input untouched')
})

t.test('each epoch gets its own working X25519 key, distinct from the seed and its neighbours', async (t) => {
  const seed = labelled('ratchet distinct')
  const keys = [0, 1, 2, 3].map((e) => onionKeyPair(ratchetSeed(seed, e)))
  const publics = new Set(keys.map((k) => hex(k.publicKey)))
  t.equal(publics.size, 4)
  t.not(hex(onionSecretKey(seed)), hex(seed))
  t.not(hex(nextSeed(seed)), hex(onionSecretKey(seed)), 'the next seed is not the key (different functions)')
  const client = x25519KeyPair()
  t.ok(equal(x25519(keys[2]!.secretKey, client.publicKey), x25519(client.secretKey, keys[2]!.publicKey)), 'the key agrees with a client')
})

t.test('bad seeds and absurd step counts are refused', async (t) => {
  t.throws(() => nextSeed(new Uint8Array(31)), { code: 'KEYS_CORRUPT' })
  t.throws(() => onionSecretKey(new Uint8Array(33)), { code: 'KEYS_CORRUPT' })
  t.throws(() => ratchetSeed(new Uint8Array(32), -1), { code: 'KEYS_BAD_EPOCH' })
  t.throws(() => ratchetSeed(new Uint8Array(32), MAX_RATCHET_STEPS + 1), { code: 'KEYS_BAD_EPOCH' })
})
