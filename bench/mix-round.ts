/**
 * Micro-benchmark of one mix round's interleaving: ns per cell for rounds of 100, 1000 and
 * 10000 cells (8 cells per circuit), with the default randomness (`randomUniform`, one
 * libsodium call per swap) and with `UniformPool` over a bulk CSPRNG fill. Also the replay
 * table's cost per CREATE. Not a test: it prints numbers.
 *
 *   npx tsc -p . && node dist/bench/mix-round.js
 *
 * The bulk fill is node:crypto's `randomFillSync`, the same OpenSSL CSPRNG that libsodium.js
 * itself calls (4 bytes at a time) under Node. It is used here only to measure what a bulk
 * `randomFill` in src/crypto would buy; node code must take randomness from src/crypto.
 */
import { randomFillSync } from 'node:crypto'
import { cryptoReady, randomBytes } from '../src/crypto/index.js'
import { Interleaver } from '../src/hop/interleave.js'
import { ReplayTable } from '../src/hop/replay-table.js'
import { UniformPool } from '../src/hop/uniform-pool.js'

await cryptoReady()

interface Cell { circuit: number }

const MIN_NS = 300_000_000n // measure each case for at least 0.3 s

function nsPerCell (interleaver: Interleaver, size: number): number {
  const cells: Cell[] = Array.from({ length: size }, (_, i) => ({ circuit: i % Math.ceil(size / 8) }))
  const out: Cell[] = []
  const circuitOf = (cell: Cell): number => cell.circuit
  interleaver.permute(cells, circuitOf, out) // warm-up, and grows the arrays once
  let rounds = 0
  const start = process.hrtime.bigint()
  let elapsed = 0n
  while (elapsed < MIN_NS || rounds < 3) {
    interleaver.permute(cells, circuitOf, out)
    rounds++
    elapsed = process.hrtime.bigint() - start
  }
  return Number(elapsed) / (rounds * size)
}

const sources: Array<[string, Interleaver]> = [
  ['randomUniform (libsodium, default)', new Interleaver()],
  ['UniformPool over bulk CSPRNG fill', new Interleaver({ uniform: new UniformPool((bytes) => { randomFillSync(bytes) }).uniform })],
]

console.log('interleave: ns per cell (and ms per round)')
for (const [name, interleaver] of sources) {
  for (const size of [100, 1000, 10_000]) {
    const ns = nsPerCell(interleaver, size)
    console.log(`  ${name.padEnd(36)} ${String(size).padStart(6)} cells: ${ns.toFixed(1).padStart(8)} ns/cell  (${(ns * size / 1e6).toFixed(3)} ms/round)`)
  }
}

const table = new ReplayTable({ capacity: 1_000_000 })
const tags = Array.from({ length: 20_000 }, () => randomBytes(16))
const start = process.hrtime.bigint()
for (const tag of tags) table.checkAndInsert(tag)
const ns = Number(process.hrtime.bigint() - start) / tags.length
console.log(`replay table: ${ns.toFixed(0)} ns per checkAndInsert (capacity 1e6, ${(table.byteLength / 2 ** 20).toFixed(1)} MiB)`)
