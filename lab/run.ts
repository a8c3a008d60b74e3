/**
 * `npm run lab`: the reliability lab (issue #14, docs/RELIABILITY.md). Runs each fault of
 * faults.ts on a fresh cascade across network namespaces, prints the table and writes the
 * rows as JSON to lab/results/lab-<date>.json. Needs root (network namespaces).
 *
 *   npm run lab                       every fault (about twenty minutes)
 *   npm run lab -- --only 'kill|skew' the faults whose name or setting matches
 *   npm run lab -- --mixes 2          a shorter cascade (default 3 mixes, as `mixgate up`)
 *   npm run lab -- --logs DIR         also write every row's node logs to DIR
 *
 * Ctrl-C (or SIGTERM) stops the processes and deletes the namespaces before exiting.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { FaultRow } from './fault-kit.js'
import { runFaults } from './faults.js'
import { hasNetem, netnsUnavailable, removeStaleNamespaces } from './netns.js'

const { values } = parseArgs({ options: { only: { type: 'string' }, mixes: { type: 'string', default: '3' }, logs: { type: 'string' } } })
const mixes = Number(values.mixes)
if (!Number.isInteger(mixes) || mixes < 1 || mixes > 7) {
  process.stderr.write('lab: --mixes must be 1 to 7\n')
  process.exit(2)
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  // process.exit runs the 'exit' handlers: netns.ts deletes the namespaces and what runs in them.
  process.once(signal, () => { process.stderr.write(`lab: ${signal}, cleaning up\n`); process.exit(130) })
}

const why = await netnsUnavailable()
if (why !== undefined) {
  process.stderr.write(`lab: cannot make network namespaces here: ${why}\n`)
  process.exit(2)
}
const stale = removeStaleNamespaces()
if (stale.length > 0) process.stderr.write(`lab: removed stale namespaces ${stale.join(', ')}\n`)

const started = new Date()
const loadStart = loadavg()
const rows = await runFaults({ mixes, ...(values.logs === undefined ? {} : { logsDir: values.logs }), say: (line) => process.stderr.write(`lab: ${line}\n`) }, values.only === undefined ? undefined : new RegExp(values.only))

const result = {
  version: 1,
  date: started.toISOString(),
  machine: { node: process.version, cpus: cpus().length, loadavgStart: loadStart, loadavgEnd: loadavg() },
  cascade: { mixes, linkShaper: 'userspace relay in the wire namespace', netem: await netemHere() },
  rows,
}
const dir = fileURLToPath(new URL('../../lab/results/', import.meta.url))
mkdirSync(dir, { recursive: true })
const file = `${dir}lab-${started.toISOString().slice(0, 19).replace(/:/g, '-')}.json`
writeFileSync(file, JSON.stringify(result, null, 2) + '\n')
process.stdout.write(table(rows) + `\nwritten: ${file}\n`)
process.exit(rows.some((row) => row.transfers.corrupt > 0) ? 1 : 0)

async function netemHere (): Promise<boolean> {
  // The root namespace's loopback is no link of the lab's, but tells whether the kernel has netem.
  const { execFileSync } = await import('node:child_process')
  const ns = `mgl-${process.pid}-netem`
  try {
    execFileSync('ip', ['netns', 'add', ns], { stdio: 'ignore' })
    return await hasNetem(ns, 'lo')
  } catch {
    return false
  } finally {
    try { execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' }) } catch { /* gone */ }
  }
}

function table (rows: FaultRow[]): string {
  const lines = [['fault', 'setting', 'intact', 'failed', 'corrupt', 'figure', 'notes']]
  for (const row of rows) {
    const value = row.figure.value === undefined ? '—' : row.figure.unit === 'ms' ? `${Math.round(row.figure.value)} ms` : `${row.figure.value} ${row.figure.unit}`
    lines.push([row.fault, row.setting, String(row.transfers.intact), String(row.transfers.failed), String(row.transfers.corrupt),
      row.error === undefined ? `${row.figure.name}: ${value}` : `ERROR ${row.error}`, row.notes])
  }
  // The setting is cut at 60 characters (the JSON has it whole); the notes never are.
  const widths = lines[0]!.map((_, i) => Math.min(i === 6 ? Infinity : 60, Math.max(...lines.map((l) => l[i]!.length))))
  return lines.map((l) => l.map((cell, i) => cell.length > widths[i]! ? cell.slice(0, widths[i]! - 1) + '…' : cell.padEnd(widths[i]!)).join(' | ')).join('\n')
}
