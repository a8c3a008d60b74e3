/**
 * Only the bench's per-cell phase, in well under a minute: the layer-crypto ceiling
 * (layer-crypto.ts) and one mix in its own process under the synthetic load (mix-load.ts),
 * with the same settings as `npm run bench` (or its --quick ones), repeated so that a
 * before/after compares several runs made close together on a shared machine.
 *
 *   npm run build && node dist/bench/cells.js [--quick] [--runs N] [--cpu-prof FILE]
 *
 * --quick         the quick bench's forward cells and backward seconds (10 000, 1 s).
 * --runs N        mix-load runs (default 3); each prints its line, then the median.
 * --cpu-prof FILE profile the mix child of one more run (node --cpu-prof), keep the
 *                 profile at FILE and print its hot spots (profiling slows the mix: its
 *                 figures are left out of the median).
 */
import { mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { cryptoBackend, cryptoReady } from '../src/crypto/index.js'
import { summarizeProfile } from './cpu-profile.js'
import { measureLayerCrypto } from './layer-crypto.js'
import { runMixLoad, type MixLoadOptions, type MixLoadResult } from './mix-load.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const CELL_SIZE = 2048
const HOPS = 4

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string', default: '3' },
    'cpu-prof': { type: 'string' },
  },
})
const runs = Number(args.runs)
if (!Number.isInteger(runs) || runs < 0) {
  console.error(`cells: --runs must be a non-negative integer, got ${args.runs}`)
  process.exit(2)
}

// The settings bench.ts gives runMixLoad.
const load: MixLoadOptions = {
  cellSize: CELL_SIZE,
  hops: HOPS,
  circuits: 16,
  forwardCells: args.quick! ? 10_000 : 60_000,
  backwardSeconds: args.quick! ? 1 : 4,
  window: 2048,
}

const loads = (): string => loadavg().map((l) => l.toFixed(2)).join(' ')
const us = (value: number): string => value.toFixed(2)

function describe (m: MixLoadResult, ceiling: number): string {
  return `forward ${us(m.forward.usPerCell)} µs/cell, backward ${us(m.backward.usPerCell)} µs/cell → ` +
    `${(m.cellsPerCpuSecond / 1000).toFixed(1)}k cells/s of its CPU = ${(m.cellsPerCpuSecond / ceiling).toFixed(3)}× crypto-only`
}

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

await cryptoReady()
console.log(`load average ${loads()} at start; crypto backend ${cryptoBackend()}`)
const crypto = measureLayerCrypto({ cellSize: CELL_SIZE, hops: HOPS, minSeconds: args.quick! ? 0.2 : 1 })
const ceiling = crypto.cryptoOnlyCellsPerSecond
console.log(`layer crypto only: peel ${us(crypto.peelUs)} + seal ${us(crypto.sealUs)} µs → ${us(crypto.perCellUs)} µs/cell, ` +
  `${(ceiling / 1000).toFixed(0)}k cells/s (the ceiling); link seal + open ${us(crypto.linkSealOpenUs)} µs/cell`)

const results: MixLoadResult[] = []
for (let i = 0; i < runs; i++) {
  const m = await runMixLoad(load)
  results.push(m)
  console.log(`one mix, run ${i + 1}: ${describe(m, ceiling)}`)
}
if (results.length > 0) {
  const forward = median(results.map((m) => m.forward.usPerCell))
  const backward = median(results.map((m) => m.backward.usPerCell))
  const perSecond = 1e6 / ((forward + backward) / 2)
  console.log(`one mix, median of ${results.length}: forward ${us(forward)} µs/cell, backward ${us(backward)} µs/cell → ` +
    `${(perSecond / 1000).toFixed(1)}k cells/s = ${(perSecond / ceiling).toFixed(3)}× crypto-only`)
}

const profileFile = args['cpu-prof']
if (profileFile !== undefined) {
  const dir = mkdtempSync(join(tmpdir(), 'mixgate-cells-'))
  try {
    await runMixLoad({ ...load, nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`] })
    const written = readdirSync(dir).filter((name) => name.endsWith('.cpuprofile'))
    if (written.length !== 1) throw new Error(`cells: expected one profile from the mix child, found ${written.length}`)
    const keep = resolve(profileFile)
    renameSync(join(dir, written[0]!), keep)
    const summary = summarizeProfile(keep, ROOT, 25)
    console.log(`\nhot spots of the mix (self time, ${(summary.busyMs / 1000).toFixed(2)} s busy; ${keep}):`)
    for (const spot of summary.functions) console.log(`  ${spot.percent.toFixed(1).padStart(5)} %  ${spot.name}  ${spot.where}`)
    console.log('  self time by file:')
    for (const spot of summary.files.slice(0, 12)) console.log(`  ${spot.percent.toFixed(1).padStart(5)} %  ${spot.name}`)
    console.log('  inclusive, mixgate functions:')
    for (const spot of summary.inclusive) console.log(`  ${spot.percent.toFixed(1).padStart(5)} %  ${spot.name}  ${spot.where}`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
console.log(`load average ${loads()} at end`)
