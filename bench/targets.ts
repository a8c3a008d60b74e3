/**
 * The speed targets of issues #12 and #13, and the stream-count and memory targets of #17,
 * checked against one bench run's figures. The bench asserts nothing: it prints each target
 * beside its figure and writes both to the JSON, so a reader sees how far each one is, on
 * this machine at this load.
 */
import type { ProfileRun } from './profile-run.js'
import type { LayerCryptoResult } from './layer-crypto.js'
import type { MixLoadResult } from './mix-load.js'
import type { ShapingProfile } from '../src/protocol/shaping.js'

export interface TargetCheck {
  readonly issue: '#12' | '#13' | '#17'
  readonly what: string
  /** The figure's unit and direction: 'min' = at least `target`, 'max' = at most. */
  readonly kind: 'min' | 'max'
  readonly target: number
  /** The measured figure, or undefined when the run did not measure it (another --profile). */
  readonly measured: number | undefined
  readonly met: boolean | undefined
}

type Figures = Partial<Record<ShapingProfile, ProfileRun>>

interface Target {
  readonly issue: TargetCheck['issue']
  readonly what: string
  readonly kind: TargetCheck['kind']
  readonly target: number
  readonly figure: (runs: Figures, cells: { layerCrypto: LayerCryptoResult, mixLoad: MixLoadResult }) => number | undefined
}

const p90OverP50 = (run: ProfileRun | undefined): number | undefined =>
  run === undefined ? undefined : run.path.latencyFresh.p90Ms / run.path.latencyFresh.p50Ms

export const TARGETS: readonly Target[] = [
  { issue: '#12', what: 'off, 1 stream, MB/s', kind: 'min', target: 40, figure: (r) => r.off?.path.single.mbps },
  { issue: '#12', what: 'off, 8 streams, MB/s', kind: 'min', target: 60, figure: (r) => r.off?.path.parallel.mbps },
  { issue: '#12', what: 'off, CPU-s/GB (1 stream, all processes)', kind: 'max', target: 24, figure: (r) => r.off?.path.single.cpuSecondsPerGB },
  { issue: '#12', what: 'elastic, 1 stream once climbed, MB/s', kind: 'min', target: 20, figure: (r) => r.elastic?.path.single.mbps },
  { issue: '#12', what: 'elastic, CPU-s/GB (1 stream, all processes)', kind: 'max', target: 40, figure: (r) => r.elastic?.path.single.cpuSecondsPerGB },
  // Its own ceiling: the layer and the link's open and seal, all the crypto a mix does on a cell (docs/BENCH.md).
  { issue: '#12', what: 'one mix, share of its own crypto ceiling (layer + link AEADs)', kind: 'min', target: 0.5, figure: (_r, c) => c.mixLoad.cellsPerCpuSecond / c.layerCrypto.mixCryptoCellsPerSecond },
  { issue: '#13', what: 'elastic, 1 KiB new conn from an idle circuit, p50 ms', kind: 'max', target: 60, figure: (r) => r.elastic?.path.latencyFresh.p50Ms },
  { issue: '#13', what: 'off, 1 KiB new conn, p50 ms', kind: 'max', target: 30, figure: (r) => r.off?.path.latencyFresh.p50Ms },
  { issue: '#13', what: 'elastic, 1 KiB new conn, p90 / p50', kind: 'max', target: 1.5, figure: (r) => p90OverP50(r.elastic) },
  { issue: '#13', what: 'off, 1 KiB new conn, p90 / p50', kind: 'max', target: 1.5, figure: (r) => p90OverP50(r.off) },
  ...(['off', 'elastic'] as const).flatMap((profile): Target[] => [
    { issue: '#17', what: `${profile}, streams of one key held at once`, kind: 'min', target: 10_000, figure: (r) => r[profile]?.heldStreams?.held },
    { issue: '#17', what: `${profile}, up RSS per held idle stream, KiB`, kind: 'max', target: 64, figure: (r) => r[profile]?.heldStreams?.kibPerStream.cascade },
    { issue: '#17', what: `${profile}, up idle RSS, MB`, kind: 'max', target: 100, figure: (r) => r[profile]?.memory?.idleMB },
    { issue: '#17', what: `${profile}, up RSS after the streams closed / idle`, kind: 'max', target: 1.1, figure: (r) => r[profile]?.memory?.afterToIdle },
  ]),
  // In `up` the open-file limit caps the streams at half of it (held-streams-phase.ts); one
  // process per node, as deployed, is where a host's usual limit meets the 10,000.
  { issue: '#17', what: 'off, a process per node: streams of one key held at once', kind: 'min', target: 10_000, figure: (r) => r.off?.heldStreamsSeparate?.held },
  { issue: '#17', what: 'off, a process per node: RSS per held idle stream, KiB', kind: 'max', target: 64, figure: (r) => r.off?.heldStreamsSeparate?.kibPerStream.cascade },
]

export function checkTargets (runs: Figures, cells: { layerCrypto: LayerCryptoResult, mixLoad: MixLoadResult }): TargetCheck[] {
  return TARGETS.map((t) => {
    const measured = t.figure(runs, cells)
    const met = measured === undefined || !Number.isFinite(measured) ? undefined : t.kind === 'min' ? measured >= t.target : measured <= t.target
    return { issue: t.issue, what: t.what, kind: t.kind, target: t.target, measured, met }
  })
}
