/**
 * The bulk-random uniform source: it rejects exactly the words that would cause modulo bias,
 * draws its words in whole-pool fills, and validates its bound.
 */
import t from 'tap'
import { MixError } from '../../src/hop/errors.js'
import { UniformPool } from '../../src/hop/uniform-pool.js'
import { chiSquareTest } from './chi-square.js'

/** A fill that writes the given words, in order, then repeats them. */
function scripted (words: number[]): { fill: (bytes: Uint8Array) => void, calls: () => number } {
  let calls = 0
  let i = 0
  return {
    fill: (bytes) => {
      calls++
      const view = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4)
      for (let w = 0; w < view.length; w++) view[w] = words[i++ % words.length]!
    },
    calls: () => calls,
  }
}

/** A seeded fill (mulberry32): the reduction is under test here, not the generator. */
function seededFill (seed: number): (bytes: Uint8Array) => void {
  let a = seed >>> 0
  return (bytes) => {
    const view = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4)
    for (let w = 0; w < view.length; w++) {
      a = (a + 0x6D2B79F5) >>> 0
      let x = a
      x = Math.imul(x ^ (x >>> 15), x | 1)
      x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
      view[w] = (x ^ (x >>> 14)) >>> 0
    }
  }
}

t.test('words below 2^32 mod bound are rejected, the rest reduced modulo bound', async (t) => {
  // bound 3: 2^32 mod 3 = 1, so word 0 is rejected and word 1 gives 1
  t.equal(new UniformPool(scripted([0, 1]).fill, 2).uniform(3), 1)
  // bound 3·2^30: the lowest 2^30 words are rejected
  const b = 3 * 2 ** 30
  t.equal(new UniformPool(scripted([2 ** 30 - 1, 2 ** 30]).fill, 2).uniform(b), 2 ** 30)
  t.equal(new UniformPool(scripted([0xFFFFFFFF]).fill, 1).uniform(b), 0xFFFFFFFF % b)
  // bound 2^32 and bound 1 reject nothing
  t.equal(new UniformPool(scripted([0]).fill, 1).uniform(2 ** 32), 0)
  t.equal(new UniformPool(scripted([0xFFFFFFFF]).fill, 1).uniform(1), 0)
})

t.test('the pool refills in whole pools, only when it is used up', async (t) => {
  const source = scripted([7])
  const pool = new UniformPool(source.fill, 8)
  t.equal(source.calls(), 0, 'nothing drawn before first use')
  for (let i = 0; i < 8; i++) pool.uniform(10)
  t.equal(source.calls(), 1, 'one fill for 8 words')
  pool.uniform(10)
  t.equal(source.calls(), 2, 'the 9th word needs a second fill')
})

t.test('uniform where plain modulo is grossly biased (bound 3·2^30, χ²)', async (t) => {
  const bound = 3 * 2 ** 30
  const pool = new UniformPool(seededFill(11))
  const counts = [0, 0, 0]
  for (let i = 0; i < 30_000; i++) counts[Math.floor(pool.uniform(bound) / 2 ** 30)]!++
  const result = chiSquareTest(counts, [1 / 3, 1 / 3, 1 / 3])
  t.ok(result.p > 1e-6, `thirds: ${counts.join(' ')}, p = ${result.p.toExponential(2)}`)
  // the same words reduced without rejection put half of them in the first third
  const fill = seededFill(11)
  const words = new Uint32Array(30_000)
  fill(new Uint8Array(words.buffer))
  const naive = [0, 0, 0]
  for (const w of words) naive[Math.floor((w % bound) / 2 ** 30)]!++
  t.ok(chiSquareTest(naive, [1 / 3, 1 / 3, 1 / 3]).p < 1e-100, `plain modulo fails: ${naive.join(' ')}`)
})

t.test('bad bounds and pool sizes throw MixError', async (t) => {
  const pool = new UniformPool(seededFill(1), 4)
  for (const bad of [0, -1, 1.5, 2 ** 32 + 1, NaN]) t.throws(() => pool.uniform(bad), { code: 'MIX_BAD_ARGUMENT' }, `bound ${bad}`)
  t.throws(() => new UniformPool(seededFill(1), 0), MixError)
})
