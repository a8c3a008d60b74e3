/**
 * The bench's issue targets (bench/targets.ts): each figure read from the right place, a
 * bound met or missed on the right side, and a profile the run skipped reported as not
 * measured rather than as missed.
 */
import t from 'tap'
import { checkTargets, TARGETS } from '../../bench/targets.js'
import type { LayerCryptoResult } from '../../bench/layer-crypto.js'
import type { MixLoadResult } from '../../bench/mix-load.js'
import type { ProfileRun } from '../../bench/profile-run.js'
import { memoryWaits, upMemory } from '../../bench/up-memory-figures.js'

function run (mbps: number, parallelMbps: number, cpu: number, p50: number, p90: number): ProfileRun {
  return {
    path: {
      single: { mbps, cpuSecondsPerGB: cpu },
      parallel: { mbps: parallelMbps },
      latencyFresh: { p50Ms: p50, p90Ms: p90 },
    },
  } as unknown as ProfileRun
}

const cells = {
  layerCrypto: { cryptoOnlyCellsPerSecond: 300_000, mixCryptoCellsPerSecond: 100_000 } as LayerCryptoResult,
  mixLoad: { cellsPerCpuSecond: 60_000 } as MixLoadResult,
}

t.test('off and elastic figures against their bounds', async (t) => {
  const checks = checkTargets({ off: run(45, 50, 30, 20, 40), elastic: run(10, 12, 35, 70, 80) }, cells)
  t.equal(checks.length, TARGETS.length)
  const by = (what: string) => checks.find((c) => c.what === what)!
  t.equal(by('off, 1 stream, MB/s').met, true, '45 ≥ 40')
  t.equal(by('off, 8 streams, MB/s').met, false, '50 < 60')
  t.equal(by('off, CPU-s/GB (1 stream, all processes)').met, false, '30 > 24')
  t.equal(by('elastic, CPU-s/GB (1 stream, all processes)').met, true, '35 ≤ 40')
  t.equal(by('elastic, 1 KiB new conn from an idle circuit, p50 ms').met, false, '70 > 60')
  t.equal(by('off, 1 KiB new conn, p90 / p50').measured, 2)
  t.equal(by('off, 1 KiB new conn, p90 / p50').met, false)
  t.ok(Math.abs(by('elastic, 1 KiB new conn, p90 / p50').measured! - 80 / 70) < 1e-9)
  t.equal(by('one mix, share of its own crypto ceiling (layer + link AEADs)').measured, 0.6, 'against all its crypto, not the layer alone (0.2)')
  t.equal(by('one mix, share of its own crypto ceiling (layer + link AEADs)').met, true)
  t.equal(by('off, streams of one key held at once').measured, undefined, 'no held-streams phase: not measured')
})

t.test('held streams (#17): the count held at once and the RSS per stream of up', async (t) => {
  const off = {
    ...run(45, 50, 30, 20, 40),
    heldStreams: { held: 9_990, kibPerStream: { cascade: 30, holder: 5, bench: 5 } },
    heldStreamsSeparate: { held: 10_000, kibPerStream: { cascade: 70, holder: 5, bench: 5 } },
  } as unknown as ProfileRun
  const checks = checkTargets({ off }, cells)
  const by = (what: string) => checks.find((c) => c.what === what)!
  t.equal(by('off, streams of one key held at once').measured, 9_990)
  t.equal(by('off, streams of one key held at once').met, false, '9 990 < 10 000')
  t.equal(by('off, up RSS per held idle stream, KiB').met, true, '30 ≤ 64')
  t.equal(by('off, a process per node: streams of one key held at once').met, true, 'the separate cascade counts on its own: 10 000')
  t.equal(by('off, a process per node: RSS per held idle stream, KiB').met, false, 'the separate cascade\'s own figure: 70 > 64')
  t.equal(by('elastic, streams of one key held at once').met, undefined, 'elastic not run')
})

t.test('a profile the run skipped is not measured, not missed', async (t) => {
  const checks = checkTargets({ elastic: run(25, 30, 20, 50, 60) }, cells)
  for (const c of checks.filter((c) => c.what.startsWith('off'))) {
    t.equal(c.measured, undefined, c.what)
    t.equal(c.met, undefined, c.what)
  }
  t.equal(checks.find((c) => c.what === 'elastic, 1 stream once climbed, MB/s')!.met, true)
})

t.test('memory (#17): up idle at most 100 MB, and back within 10 % of idle after the streams closed', async (t) => {
  const elastic = { ...run(25, 30, 35, 50, 60), memory: upMemory(130e6, 150e6, memoryWaits(false)) } as unknown as ProfileRun
  const off = { ...run(45, 50, 30, 20, 40), memory: upMemory(90e6, 95e6, memoryWaits(false)) } as unknown as ProfileRun
  const checks = checkTargets({ off, elastic }, cells)
  const by = (what: string) => checks.find((c) => c.what === what)!
  t.equal(by('elastic, up idle RSS, MB').measured, 130)
  t.equal(by('elastic, up idle RSS, MB').met, false, '130 > 100')
  t.equal(by('off, up idle RSS, MB').met, true, '90 ≤ 100')
  t.ok(Math.abs(by('elastic, up RSS after the streams closed / idle').measured! - 150 / 130) < 1e-9)
  t.equal(by('elastic, up RSS after the streams closed / idle').met, false, '1.15 > 1.10')
  t.equal(by('off, up RSS after the streams closed / idle').met, true, '95 / 90 ≈ 1.06')
  const unread = checkTargets({ off: { ...off, memory: upMemory(0, 95e6, memoryWaits(true)) } as unknown as ProfileRun }, cells)
  t.equal(unread.find((c) => c.what === 'off, up RSS after the streams closed / idle')!.met, undefined, 'an idle RSS that could not be read gives no ratio')
})
