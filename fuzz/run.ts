/**
 * `npm run fuzz`: every decoder target (targets/index.ts), then the whole-node harness.
 *
 *   node dist/fuzz/run.js [--seed N] [--inputs N] [--time-cap-s S] [--target NAME]...
 *                         [--node-s S] [--no-node] [--no-oversize-loops]
 *
 * --inputs is per target (default 1,000,000; slow targets run fewer and say why); --time-cap-s
 * caps the whole run (default 1200 s), shared out evenly among the targets still to run, with
 * the whole-node harness counted as one. Results go to fuzz/results/fuzz-<date>.json, escapes
 * to fuzz/crashes/. Exit status 1 if anything escaped or the node harness failed.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { cryptoReady } from '../src/crypto/index.js'
import { runTarget, type TargetReport } from './engine.js'
import { runWholeNode, type WholeNodeReport } from './node/whole-node.js'
import { escapeLines, reportLine } from './report.js'
import { ALL_TARGETS } from './targets/index.js'

interface Args {
  seed: number
  inputs: number
  timeCapS: number
  targets: string[]
  nodeS: number
  node: boolean
  oversizeLoops: boolean
}

function parseArgs (argv: readonly string[]): Args {
  const args: Args = { seed: 1, inputs: 1_000_000, timeCapS: 1200, targets: [], nodeS: 60, node: true, oversizeLoops: true }
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!
    const value = (): string => {
      const v = argv[++i]
      if (v === undefined) throw new Error(`${flag} needs a value`)
      return v
    }
    const number = (): number => {
      const n = Number(value())
      if (!Number.isFinite(n) || n < 0) throw new Error(`${flag} needs a non-negative number`)
      return n
    }
    switch (flag) {
      case '--seed': args.seed = number() >>> 0; break
      case '--inputs': args.inputs = Math.floor(number()); break
      case '--time-cap-s': args.timeCapS = number(); break
      case '--target': args.targets.push(value()); break
      case '--node-s': args.nodeS = number(); break
      case '--no-node': args.node = false; break
      case '--no-oversize-loops': args.oversizeLoops = false; break
      default: throw new Error(`unknown option ${flag}`)
    }
  }
  return args
}

async function main (): Promise<number> {
  const args = parseArgs(process.argv.slice(2))
  await cryptoReady()
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
  const known = new Set([...ALL_TARGETS.map((t) => t.name), 'whole-node'])
  for (const name of args.targets) if (!known.has(name)) throw new Error(`unknown target ${name}; known: ${[...known].join(', ')}`)
  const chosen = args.targets.length === 0 ? ALL_TARGETS : ALL_TARGETS.filter((t) => args.targets.includes(t.name))
  const runNode = args.node && (args.targets.length === 0 || args.targets.includes('whole-node'))
  const started = Date.now()
  const deadline = started + args.timeCapS * 1000
  console.log(`mixgate fuzz: seed ${args.seed}, up to ${args.inputs} inputs per target, time cap ${args.timeCapS} s`)
  const reports: TargetReport[] = []
  for (let i = 0; i < chosen.length; i++) {
    const left = chosen.length - i + (runNode ? 1 : 0)
    const capMs = Math.max(1000, (deadline - Date.now()) / left)
    const report = await runTarget(chosen[i]!, { seed: args.seed, inputs: args.inputs, timeCapMs: capMs, crashDir: join(root, 'fuzz', 'crashes') })
    reports.push(report)
    console.log(reportLine(report))
    for (const line of escapeLines(report)) console.log(line)
  }
  let node: WholeNodeReport | undefined
  if (runNode) {
    const seconds = Math.max(5, Math.min(args.nodeS, (deadline - Date.now()) / 1000))
    node = await runWholeNode({ seed: args.seed, durationMs: seconds * 1000, oversizeLoops: args.oversizeLoops, log: (line) => console.log(`  ${line}`) })
    console.log(`whole-node             ${node.passed ? 'PASS' : 'FAIL'}  ${node.summary}`)
    for (const problem of node.problems) console.log(`  PROBLEM ${problem}`)
  }
  const escapes = reports.reduce((n, r) => n + r.escapes, 0)
  const result = {
    version: 1,
    date: new Date().toISOString(),
    seed: args.seed,
    inputsPerTarget: args.inputs,
    timeCapS: args.timeCapS,
    seconds: (Date.now() - started) / 1000,
    machine: { node: process.version, cpus: cpus().length, loadavg: loadavg() },
    targets: reports,
    ...(node === undefined ? {} : { wholeNode: node }),
  }
  const dir = join(root, 'fuzz', 'results')
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `fuzz-${result.date.replace(/[:.]/g, '-').slice(0, 19)}.json`)
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n')
  console.log(`${reports.length} targets, ${reports.reduce((n, r) => n + r.inputs, 0)} inputs, ${escapes} escapes${node === undefined ? '' : `, whole node ${node.passed ? 'passed' : 'FAILED'}`}; results in ${file}`)
  return escapes > 0 || (node !== undefined && !node.passed) ? 1 : 0
}

main().then((code) => { process.exitCode = code }, (err: unknown) => {
  console.error(err instanceof Error ? err.message : err)
  process.exitCode = 2
})
