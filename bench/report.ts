/**
 * The bench's printed summary: one table of the baselines and the profiles with each figure's
 * ratio to the direct path, the issue targets beside their figures, then the per-cell
 * figures (layer crypto, one mix, each `up` process) and, when profiled, the hot spots.
 */
import type { BenchResult } from './bench-result.js'
import { mib, type PathResult } from './measure-path.js'
import type { PageLoadResult } from './page-load.js'
import type { ProfileRun } from './profile-run.js'
import { describeHeldStreams } from './held-streams-phase.js'
import { describeUpMemory } from './up-memory-figures.js'

const pad = (text: string, width: number): string => text.padStart(width)

function num (value: number): string {
  if (!Number.isFinite(value)) return '-'
  if (value >= 100) return value.toFixed(0)
  if (value >= 10) return value.toFixed(1)
  return value.toFixed(2)
}

function ratio (value: number, base: number): string {
  const r = value / base
  return `${r >= 10 ? r.toFixed(0) : r >= 1 ? r.toFixed(1) : r.toFixed(3)}×`
}

interface Column { readonly name: string, readonly path: PathResult, readonly page: PageLoadResult | undefined }

export function renderReport (result: BenchResult): string {
  const lines: string[] = []
  const { direct, relay, microsocks } = result.baselines
  const runs = Object.values(result.profiles)
  const cols: Column[] = [
    { name: 'direct', path: direct, page: result.pageLoadDirect },
    { name: 'SOCKS relay', path: relay, page: undefined },
    ...(microsocks === undefined ? [] : [{ name: 'microsocks', path: microsocks, page: undefined }]),
    ...runs.map((run) => ({ name: run.profile, path: run.path, page: run.pageLoad })),
  ]
  const rows: Array<[string, (c: Column) => number | undefined]> = [
    ['1 stream, MB/s', (c) => c.path.single.mbps],
    [`${result.config.baseline.parallelStreams} streams, MB/s`, (c) => c.path.parallel.mbps],
    ['CPU-s/GB, 1 stream', (c) => c.path.single.cpuSecondsPerGB],
    ['CPU-s/GB, 8 streams', (c) => c.path.parallel.cpuSecondsPerGB],
    ['1 KiB new conn, p50 ms', (c) => c.path.latencyFresh.p50Ms],
    ['1 KiB new conn, p90 ms', (c) => c.path.latencyFresh.p90Ms],
    ['1 KiB kept alive, p50 ms', (c) => c.path.latencyKeepAlive.p50Ms],
    ['1 KiB kept alive, p90 ms', (c) => c.path.latencyKeepAlive.p90Ms],
    ...(result.pageLoadDirect === undefined ? [] : [['page, 40 images, p50 ms', (c: Column) => c.page?.p50Ms]] as Array<[string, (c: Column) => number | undefined]>),
  ]
  const w0 = 26
  const w = 18
  const mc = result.machine
  lines.push('')
  lines.push(`mixgate bench ${result.date}${result.quick ? ' (quick)' : ''}: node ${mc.node}, ${mc.cpus} × ${mc.cpuModel}`)
  lines.push(`load average ${mc.loadavgStart.map((l) => l.toFixed(2)).join(' ')} at start, ${mc.loadavgEnd.map((l) => l.toFixed(2)).join(' ')} at end; crypto backend: ${result.cryptoBackend} (bench)` +
    runs.map((r) => `, ${r.cryptoBackend ?? '?'} (${r.profile})`).join(''))
  for (const run of runs) lines.push(`${run.profile}: ${run.command}`)
  lines.push('')
  lines.push(`${''.padEnd(w0)}${cols.map((c) => pad(c.name, w)).join('')}`)
  for (const [label, get] of rows) {
    const d = get(cols[0]!)
    const cells = cols.map((c, i) => {
      const v = get(c)
      if (v === undefined) return pad('', w)
      return pad(i === 0 || d === undefined ? num(v) : `${num(v)} (${ratio(v, d)})`, w)
    })
    lines.push(`${label.padEnd(w0)}${cells.join('')}`)
  }
  lines.push('(×) = ratio to direct, measured in the same run. MB = 10^6 bytes. CPU-s/GB counts every process involved' +
    ' (bench: origin + client [+ relay]; microsocks and mixgate up: their processes, from /proc), per 10^9 bytes delivered.')
  const b = result.config.baseline
  lines.push(`transfers: 1 stream ${mib(b.singleBytes)} (median of ${b.singleRuns}), ${b.parallelStreams}×${mib(b.parallelBytesEach)} on one circuit;` +
    ` strict moves 1/32 and 1/128 (8 streams); latency: ${b.latencyRequests} sequential requests, measured first (idle circuit).`)
  for (const run of runs) {
    const sc = run.separateCircuits
    lines.push(`${run.profile}: ${sc.streams} streams on ${sc.streams} circuits (a SOCKS username each): ${num(sc.mbps)} MB/s in all, ${num(sc.cpuSecondsPerGB)} CPU-s/GB` +
      (run.cutTransfers > 0 ? `; ${run.cutTransfers} transfer(s) cut (a circuit's scheduled end) and tried again, their time counted` : ''))
    if (run.heldStreams !== undefined) lines.push(`${run.profile}: ${describeHeldStreams(run.heldStreams)}`)
    if (run.heldStreamsSeparate !== undefined) lines.push(`${run.profile}, a process per node: ${describeHeldStreams(run.heldStreamsSeparate)}`)
    if (run.memory !== undefined) lines.push(`${run.profile}: ${describeUpMemory(run.memory)}`)
  }
  if (result.pageLoadDirect !== undefined) lines.push(`page: Chromium headless, performance.now() at the load event, fresh profile per load, median of ${result.pageLoadDirect.loads}.`)

  lines.push('')
  lines.push('targets (issues #12, #13, #17):')
  for (const t of result.targets) {
    const verdict = t.met === undefined ? 'not measured' : t.met ? 'met' : 'MISSED'
    lines.push(`  ${t.issue} ${t.what.padEnd(54)} ${t.kind === 'min' ? '≥' : '≤'} ${String(t.target).padEnd(5)} measured ${t.measured === undefined ? '-' : num(t.measured).padEnd(7)} ${verdict}`)
  }

  for (const f of result.failures) lines.push(`FAILED ${f.profile}: ${f.error}`)
  lines.push(...renderCells(result, runs))
  return lines.join('\n')
}

function renderCells (result: BenchResult, runs: ProfileRun[]): string[] {
  const lines: string[] = []
  const c = result.layerCrypto
  const m = result.mixLoad
  lines.push('')
  lines.push(`cells (${c.cellSize} bytes, ${c.hops} hops, entry position):`)
  lines.push(`  layer crypto only (the ceiling): peel ${num(c.peelUs)} µs + seal ${num(c.sealUs)} µs → ${num(c.perCellUs)} µs/cell, ${num(c.cryptoOnlyCellsPerSecond / 1000)}k cells/s of CPU`)
  lines.push(`  link batch seal + open per cell (every hop, full batches): ${num(c.linkSealOpenUs)} µs; a mix's own crypto (layer + link): ${num(c.mixCryptoCellsPerSecond / 1000)}k cells/s of CPU`)
  lines.push(`  one mix, own process, synthetic load: forward ${num(m.forward.usPerCell)} µs/cell, backward ${num(m.backward.usPerCell)} µs/cell` +
    ` → ${num(m.cellsPerCpuSecond / 1000)}k cells/s of its CPU = ${ratio(m.cellsPerCpuSecond, c.mixCryptoCellsPerSecond)} its own crypto ceiling, ${ratio(m.cellsPerCpuSecond, c.cryptoOnlyCellsPerSecond)} layer crypto only`)
  lines.push(`    wall rate ${num(m.forward.cellsPerWallSecond / 1000)}k fwd / ${num(m.backward.cellsPerWallSecond / 1000)}k bwd cells/s (load generator shares the machine)`)
  for (const run of runs) {
    const u = run.upPerCell
    lines.push(`  ${run.profile}, whole up process, 1-stream download: ≈${num(u.cells / 1000)}k cells, ${num(u.upCpuSeconds)} CPU-s → ` +
      `${num(u.cellsPerHopCpuSecond / 1000)}k cells/s per hop (÷ ${u.hops}, client and exit included) = ${ratio(u.cellsPerHopCpuSecond, c.cryptoOnlyCellsPerSecond)} crypto-only`)
  }
  for (const run of runs) {
    const p = run.profileSummary
    if (p === undefined) continue
    lines.push('')
    lines.push(`hot spots of ${run.profile} (self time, ${num(p.busyMs / 1000)} s busy; ${p.file}):`)
    for (const spot of p.functions) lines.push(`  ${spot.percent.toFixed(1).padStart(5)} %  ${spot.name}  ${spot.where}`)
    lines.push('  self time by file:')
    for (const spot of p.files.slice(0, 10)) lines.push(`  ${spot.percent.toFixed(1).padStart(5)} %  ${spot.name}`)
  }
  return lines
}
