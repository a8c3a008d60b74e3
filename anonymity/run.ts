/**
 * `npm run anonymity`: the measured adversary of issue #5. For each shaping profile, k clients
 * with real workloads (bulk, page loads, chat, idle) through a loopback cascade, a global
 * passive observer of every client link and every exit flow, and the flow-correlation attack
 * (correlate.ts). Prints accuracy next to chance, goodput and overhead per profile; writes
 * JSON (anonymity/results/anonymity-<date>.json, or --out). Method: docs/ANONYMITY.md.
 *
 *   npm run anonymity [-- --clients N] [--seconds S] [--seed N] [--profiles off,elastic,strict] [--out FILE]
 *                     [--hops process|cascade|inline] [--quick-shaping]
 *                     [--round-ms MS] [--slot-ms MS] [--circuits K] [--circuit-slots L]
 *
 * The cascade runs the shipped round length and shaping defaults, except circuit lives
 * (lab-shaping.ts); the flags override them, --quick-shaping takes the former scaled-down
 * lab set (QUICK_LAB) as the base.
 * Not a test: it asserts nothing. It stops every node and socket it started, also on error.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { cryptoReady } from '../src/crypto/index.js'
import { SHAPING_PROFILES, type ShapingProfile } from '../src/protocol/shaping.js'
import { HOP_LAYOUTS, type HopLayout } from './hop-host.js'
import { QUICK_LAB, type LabShapingOptions } from './lab-shaping.js'
import { renderTable } from './report.js'
import { runProfile, type ProfileResult } from './run-profile.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

const { values: args } = parseArgs({
  options: {
    clients: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '30' },
    seed: { type: 'string', default: '1' },
    profiles: { type: 'string', default: 'off,elastic,strict' },
    'attack-slot-ms': { type: 'string' },
    'max-lag': { type: 'string' },
    out: { type: 'string' },
    hops: { type: 'string', default: 'process' },
    'quick-shaping': { type: 'boolean', default: false },
    'round-ms': { type: 'string' },
    'slot-ms': { type: 'string' },
    circuits: { type: 'string' },
    'circuit-slots': { type: 'string' },
  },
})

const log = (line: string): void => { process.stderr.write(`${line}\n`) }

function positiveInt (name: string, value: string | undefined): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${String(value)}`)
  return n
}

/** The lab's shaping options from the flags: shipped defaults (or QUICK_LAB) with overrides. */
function shapingOptions (): LabShapingOptions {
  const base: LabShapingOptions = args['quick-shaping'] ? QUICK_LAB : {}
  const flag = (name: string): number | undefined => args[name as keyof typeof args] === undefined ? undefined : positiveInt(name, args[name as keyof typeof args] as string)
  const roundMs = flag('round-ms') ?? base.roundMs
  const overrides = { ...base.overrides }
  for (const [name, field] of [['slot-ms', 'slotMs'], ['circuits', 'circuits'], ['circuit-slots', 'circuitSlots']] as const) {
    const value = flag(name)
    if (value !== undefined) overrides[field] = value
  }
  return { ...base, ...(roundMs === undefined ? {} : { roundMs }), overrides }
}

async function main (): Promise<void> {
  const clients = positiveInt('clients', args.clients)
  const seconds = positiveInt('seconds', args.seconds)
  const seed = positiveInt('seed', args.seed)
  const profiles = args.profiles!.split(',').map((p) => p.trim()) as ShapingProfile[]
  for (const p of profiles) if (!SHAPING_PROFILES.includes(p)) throw new Error(`unknown profile ${p} (${SHAPING_PROFILES.join(', ')})`)
  const hops = args.hops as HopLayout
  if (!HOP_LAYOUTS.includes(hops)) throw new Error(`--hops must be one of ${HOP_LAYOUTS.join(', ')}, got ${hops}`)
  const shaping = shapingOptions()
  await cryptoReady()
  const loadStart = loadavg()
  if (loadStart[0]! > 0.5) log(`warning: load average ${loadStart[0]!.toFixed(2)} at start: other work on this machine disturbs timing`)
  const results: ProfileResult[] = []
  for (const profile of profiles) {
    const result = await runProfile({
      profile,
      clients,
      seconds,
      seed,
      hops,
      shaping,
      ...(args['attack-slot-ms'] === undefined ? {} : { attackSlotMs: positiveInt('attack-slot-ms', args['attack-slot-ms']) }),
      ...(args['max-lag'] === undefined ? {} : { maxLag: positiveInt('max-lag', args['max-lag']) }),
      log,
    })
    results.push(result)
    log(`${profile}: ${result.attack.flows} flows, accuracy ${result.attack.accuracy.toFixed(3)} (expected ${result.attack.expectedAccuracy.toFixed(3)}, chance ${result.attack.chance.toFixed(3)}), true client's rank ${result.attack.truthRank.toFixed(3)}, missed rounds ${result.missedRounds.clientsTotal} (clients) / ${result.missedRounds.hopsTotal} (hops) of ${result.missedRounds.rounds}`)
  }
  const date = new Date().toISOString()
  const out = args.out ?? join(ROOT, 'anonymity/results', `anonymity-${date.replace(/:/g, '-').replace(/\..*$/, '')}.json`)
  const json = {
    version: 1,
    date,
    machine: { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', loadavgStart: loadStart, loadavgEnd: loadavg() },
    params: { clients, seconds, seed, profiles, hops, shaping },
    results,
  }
  mkdirSync(dirname(out), { recursive: true })
  writeFileSync(out, `${JSON.stringify(json, null, 2)}\n`)
  process.stdout.write(renderTable(results))
  log(`wrote ${out}`)
}

main().then(() => process.exit(0), (err: unknown) => {
  log(`anonymity: ${(err as Error).stack ?? String(err)}`)
  process.exit(1)
})
