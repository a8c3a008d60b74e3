/**
 * The shape of one bench run, as printed and as written to JSON.
 */
import type { ShapingProfile } from '../src/protocol/shaping.js'
import type { LayerCryptoResult } from './layer-crypto.js'
import type { PathConfig, PathResult } from './measure-path.js'
import type { MixLoadResult } from './mix-load.js'
import type { PageLoadResult } from './page-load.js'
import type { ProfileRun } from './profile-run.js'
import type { TargetCheck } from './targets.js'

export type { UpPerCell } from './profile-run.js'

/** A figure of a path divided by the same figure of a baseline measured in the same run. */
export interface Ratios {
  readonly singleMbps: number
  readonly parallelMbps: number
  readonly freshP50: number
  readonly freshP90: number
  readonly keepAliveP50: number
  readonly keepAliveP90: number
  readonly cpuPerGBSingle: number
  readonly cpuPerGBParallel: number
}

export interface BenchResult {
  readonly version: 2
  readonly date: string
  readonly quick: boolean
  readonly machine: { node: string, cpus: number, cpuModel: string, loadavgStart: number[], loadavgEnd: number[] }
  /** The bench process's crypto backend (the `up` children's are in each profile run). */
  readonly cryptoBackend: string
  readonly config: { baseline: PathConfig, cellSize: number, mixes: number, hopThreads?: number }
  /** Measured in the same run: straight to the origin, a trivial in-process SOCKS5 relay, microsocks if installed. */
  readonly baselines: { direct: PathResult, relay: PathResult, microsocks?: PathResult }
  readonly profiles: Partial<Record<ShapingProfile, ProfileRun>>
  /** Per profile, its figures over direct's and over the SOCKS relay's. */
  readonly ratios: Partial<Record<ShapingProfile, { toDirect: Ratios, toRelay: Ratios }>>
  /** Chromium loading the 40-image page straight from the origin (each profile's is in its run). */
  readonly pageLoadDirect?: PageLoadResult
  readonly layerCrypto: LayerCryptoResult
  readonly mixLoad: MixLoadResult
  readonly targets: TargetCheck[]
  /** Profiles whose run failed (a transfer cut, wrong bytes, a child that did not start). */
  readonly failures: Array<{ profile: ShapingProfile, error: string }>
}
