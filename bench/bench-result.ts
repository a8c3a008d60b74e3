/**
 * The shape of one bench run, as printed and as written to JSON.
 */
import type { ProfileSummary } from './cpu-profile.js'
import type { LayerCryptoResult } from './layer-crypto.js'
import type { PathConfig, PathResult, ThroughputResult } from './measure-path.js'
import type { MixLoadResult } from './mix-load.js'

export interface UpPerCell {
  readonly method: string
  readonly hops: number
  readonly backwardDataBytes: number
  /** Backward DATA cells of the single-stream downloads, estimated as ceil(bytes / backwardDataBytes). */
  readonly cells: number
  readonly upCpuSeconds: number
  readonly cellsPerUpCpuSecond: number
  readonly cellsPerHopCpuSecond: number
}

export interface BenchResult {
  readonly version: 1
  readonly date: string
  readonly quick: boolean
  readonly machine: { node: string, cpus: number, cpuModel: string, loadavgStart: number[], loadavgEnd: number[] }
  readonly config: PathConfig & { cellSize: number, mixes: number }
  readonly cascade: { source: 'mixgate up' | 'stand-in', label: string, command: string, pid: number, cpuProfiled: boolean }
  readonly paths: { direct: PathResult, relay: PathResult, mixgate: PathResult }
  readonly ratiosToDirect: Record<string, Record<string, number>>
  readonly layerCrypto: LayerCryptoResult
  readonly mixLoad: MixLoadResult
  readonly upPerCell: UpPerCell
  /** mixgate only: streams at once, each on a circuit of its own (its own SOCKS username). */
  readonly separateCircuits?: ThroughputResult & { readonly streams: number }
  readonly profile?: ProfileSummary
}
