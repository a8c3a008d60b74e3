/**
 * `npm run soak`: the soak of soak.ts with the issue's figures (1,000 streams, 10 minutes),
 * or shorter: `npm run soak -- --streams 200 --minutes 1`; `--target separate` runs one process
 * per node instead of `mixgate up` (soak-target.ts); `--node-flags '--max-semi-space-size=4'` gives
 * `up` node flags. Prints the samples and a summary,
 * writes JSON to lab/results/soak-<date>.json. Exits non-zero if a download was corrupted.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { runSoak } from './soak.js'

const { values } = parseArgs({
  options: {
    streams: { type: 'string', default: '1000' },
    minutes: { type: 'string', default: '10' },
    circuits: { type: 'string', default: '8' },
    shaping: { type: 'string', default: 'off' },
    target: { type: 'string', default: 'up' },
    'node-flags': { type: 'string', default: '' },
  },
})
const shaping = values.shaping as 'off' | 'strict' | 'elastic'
if (!['off', 'strict', 'elastic'].includes(shaping)) { process.stderr.write('soak: --shaping off, strict or elastic\n'); process.exit(2) }
const target = values.target as 'up' | 'separate'
if (!['up', 'separate'].includes(target)) { process.stderr.write('soak: --target up or separate\n'); process.exit(2) }
const started = new Date()
const loadStart = loadavg()
const result = await runSoak({
  streams: Number(values.streams),
  circuits: Number(values.circuits),
  durationS: Number(values.minutes) * 60,
  sampleS: 10,
  shaping,
  target,
  nodeFlags: values['node-flags'].split(' ').filter((f) => f !== ''),
  say: (line) => process.stderr.write(`soak: ${line}\n`),
})
const dir = fileURLToPath(new URL('../../lab/results/', import.meta.url))
mkdirSync(dir, { recursive: true })
const file = `${dir}soak-${started.toISOString().slice(0, 19).replace(/:/g, '-')}.json`
writeFileSync(file, JSON.stringify({ version: 1, date: started.toISOString(), loadavgStart: loadStart, loadavgEnd: loadavg(), ...result }, null, 2) + '\n')
const last = result.samples.at(-1)
const first = result.samples[0]
process.stdout.write([
  `streams ${result.options.streams} on ${result.options.circuits} circuits, ${result.options.durationS} s, shaping ${shaping}`,
  `idle cascade: ${result.idle.rssMiB.toFixed(1)} MiB RSS (anon ${result.idle.anonMiB.toFixed(1)}), ${result.idle.fds} fds`,
  `at the end, by process (MiB): ${Object.entries(last?.processes ?? {}).map(([n, m]) => `${n} RSS ${m.rssMiB.toFixed(1)} = V8 ${m.map.v8MiB} + malloc ${(m.map.arenasMiB + m.map.brkMiB).toFixed(1)} + files ${m.map.fileMiB} + other ${m.map.otherMiB}`).join('; ')}` +
    `${last?.clientHeapMiB === undefined ? '' : `; the client's V8 heap ${last.clientHeapMiB.toFixed(1)} MiB committed`}`,
  `CPU: ${first === undefined || last === undefined ? '—' : `${(last.cpuS - first.cpuS).toFixed(1)} s over ${(last.atS - first.atS).toFixed(0)} s`}`,
  `all open: ${first?.rssMiB.toFixed(1) ?? '—'} MiB at the start, ${last?.rssMiB.toFixed(1) ?? '—'} MiB at the end; fds ${first?.fds ?? '—'} → ${last?.fds ?? '—'}`,
  `memory per open stream: ${result.kibPerStream?.toFixed(1) ?? '—'} KiB (target ≤ 64 KiB per idle stream)`,
  `streams failed to open ${result.streamsFailedToOpen}, lost while open ${result.streamsLost}; chats ${result.chats.ok} ok, ${result.chats.failed} failed; 1 MiB downloads ${result.downloads.intact} intact, ${result.downloads.failed} failed, ${result.downloads.corrupt} corrupt`,
  `written: ${file}`,
].join('\n') + '\n')
process.exit(result.downloads.corrupt > 0 ? 1 : 0)
