/**
 * The bench's printed summary: one table of the three paths with each figure's ratio to the
 * direct path, then the per-cell figures (layer crypto, one mix, the whole `up` process) and,
 * when profiled, the `up` child's hot spots.
 */
import type { BenchResult } from './bench-result.js'
import type { PathResult } from './measure-path.js'

const pad = (text: string, width: number): string => text.padStart(width)

function num (value: number): string {
  if (!Number.isFinite(value)) return '-'
  if (value >= 100) return value.toFixed(0)
  if (value >= 10) return value.toFixed(1)
  return value.toFixed(2)
}

function ratio (value: number, direct: number): string {
  const r = value / direct
  return `${r >= 10 ? r.toFixed(0) : r >= 1 ? r.toFixed(1) : r.toFixed(3)}×`
}

export function renderReport (result: BenchResult): string {
  const lines: string[] = []
  const { direct, relay, mixgate } = result.paths
  const cols: Array<[string, PathResult]> = [['direct', direct], ['SOCKS relay', relay], [result.cascade.label, mixgate]]
  const rows: Array<[string, (p: PathResult) => number]> = [
    [`single stream, MB/s (${(result.config.singleBytes / 2 ** 20).toFixed(0)} MiB)`, (p) => p.single.mbps],
    [`${result.config.parallelStreams} streams, MB/s (${result.config.parallelStreams}×${(result.config.parallelBytesEach / 2 ** 20).toFixed(0)} MiB)`, (p) => p.parallel.mbps],
    ['1 KiB new conn, p50 ms', (p) => p.latencyFresh.p50Ms],
    ['1 KiB new conn, p90 ms', (p) => p.latencyFresh.p90Ms],
    ['1 KiB keep-alive, p50 ms', (p) => p.latencyKeepAlive.p50Ms],
    ['1 KiB keep-alive, p90 ms', (p) => p.latencyKeepAlive.p90Ms],
    ['CPU s/GB, single stream', (p) => p.single.cpuSecondsPerGB],
    ['CPU s/GB, parallel', (p) => p.parallel.cpuSecondsPerGB],
  ]
  const w0 = 34
  const w = 22
  const mc = result.machine
  lines.push('')
  lines.push(`mixgate bench ${result.date}${result.quick ? ' (quick)' : ''}: node ${mc.node}, ${mc.cpus} × ${mc.cpuModel}, load average ${mc.loadavgStart[0]!.toFixed(2)} at start, ${mc.loadavgEnd[0]!.toFixed(2)} at end`)
  lines.push(`cascade: ${result.cascade.command}${result.cascade.cpuProfiled ? ' (under --cpu-prof)' : ''}`)
  lines.push('')
  lines.push(`${''.padEnd(w0)}${cols.map(([name]) => pad(name, w)).join('')}`)
  for (const [label, get] of rows) {
    const d = get(direct)
    const cells = cols.map(([, p], i) => pad(i === 0 ? num(d) : `${num(get(p))} (${ratio(get(p), d)})`, w))
    lines.push(`${label.padEnd(w0)}${cells.join('')}`)
  }
  lines.push('MB = 10^6 bytes; CPU s/GB counts every process involved (bench: origin + client' +
    ` [+ relay]; ${result.cascade.label}: its own process, from /proc), per 10^9 bytes delivered.`)
  lines.push(`single stream: median of ${result.config.singleRuns} run(s). Parallel streams share one mixgate circuit (one isolation key).`)
  const sc = result.separateCircuits
  if (sc !== undefined) {
    lines.push(`${result.cascade.label}, ${sc.streams} streams on ${sc.streams} circuits (a SOCKS username each, ${sc.streams}×${(sc.bytes / sc.streams / 2 ** 20).toFixed(0)} MiB): ` +
      `${num(sc.mbps)} MB/s in all (${ratio(sc.mbps, mixgate.parallel.mbps)} its one-circuit parallel figure), ${num(sc.cpuSecondsPerGB)} CPU s/GB`)
  }
  lines.push(`latency: ${result.config.latencyRequests} sequential requests each; "new conn" = a new TCP (and SOCKS) connection per request.`)

  const c = result.layerCrypto
  const m = result.mixLoad
  const u = result.upPerCell
  lines.push('')
  lines.push(`cells (${c.cellSize} bytes, ${c.hops} hops, entry position):`)
  lines.push(`  layer crypto only: peel ${num(c.peelUs)} µs + seal ${num(c.sealUs)} µs → ${num(c.perCellUs)} µs/cell, ${num(c.cryptoOnlyCellsPerSecond / 1000)}k cells/s of CPU`)
  lines.push(`  link frame seal + open (every hop, every cell): ${num(c.linkSealOpenUs)} µs`)
  lines.push(`  one mix, own process, synthetic load: forward ${num(m.forward.usPerCell)} µs/cell, backward ${num(m.backward.usPerCell)} µs/cell` +
    ` → ${num(m.cellsPerCpuSecond / 1000)}k cells/s of its CPU = ${ratio(m.cellsPerCpuSecond, c.cryptoOnlyCellsPerSecond)} crypto-only` +
    ` (layer crypto ${(100 * c.perCellUs / m.usPerCell).toFixed(0)} % of its per-cell CPU)`)
  lines.push(`    wall rate ${num(m.forward.cellsPerWallSecond / 1000)}k fwd / ${num(m.backward.cellsPerWallSecond / 1000)}k bwd cells/s (load generator shares the machine)`)
  lines.push(`  ${result.cascade.label}, single-stream download: ≈${num(u.cells / 1000)}k backward cells (estimated from bytes), ` +
    `${num(u.upCpuSeconds)} s of its CPU → ${num(u.cellsPerUpCpuSecond / 1000)}k cells/s; ÷ ${u.hops} hops (crude: client and exit share that CPU) → ` +
    `${num(u.cellsPerHopCpuSecond / 1000)}k cells/s per hop = ${ratio(u.cellsPerHopCpuSecond, c.cryptoOnlyCellsPerSecond)} crypto-only`)

  if (result.profile !== undefined) {
    lines.push('')
    lines.push(`hot spots of ${result.cascade.label} (self time, ${num(result.profile.busyMs / 1000)} s busy; ${result.profile.file}):`)
    for (const spot of result.profile.functions) lines.push(`  ${spot.percent.toFixed(1).padStart(5)} %  ${spot.name}  ${spot.where}`)
    lines.push('  self time by file:')
    for (const spot of result.profile.files.slice(0, 10)) lines.push(`  ${spot.percent.toFixed(1).padStart(5)} %  ${spot.name}`)
    lines.push('  inclusive time of mixgate functions:')
    for (const spot of result.profile.inclusive) lines.push(`  ${spot.percent.toFixed(1).padStart(5)} %  ${spot.name}  ${spot.where}`)
  }
  return lines.join('\n')
}
