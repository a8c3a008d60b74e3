/**
 * Cells per second through ONE mix, per second of that mix's own CPU.
 *
 * `mixgate up` runs every node in one process, so its CPU cannot be split between the entry
 * mix and the rest. Instead a single real MixNode (runMix, entry position of a 3-mix + exit
 * geometry, real Noise links, real rounds) runs in a child process (mix-child.ts) and the
 * bench drives it from both sides over loopback:
 *   - as its predecessor, a client NK link carrying CREATEs (real onions) and RELAY cells
 *     whose entry layer authenticates (sealed with ForwardSealer beforehand, so generating
 *     them costs nothing during the measurement);
 *   - as its successor, a KK listener in hop 2's place that counts forward cells and sends
 *     backward RELAY cells on the circuits the mix opened (a mix seals whatever comes back:
 *     their bodies need no meaning).
 * A fixed window of cells in flight keeps the mix busy without unbounded queues. Two phases,
 * forward only and backward only, each after an unmeasured warm-up in the same direction
 * (DEFAULT_WARMUP) and measured as cells delivered / the child's CPU seconds (/proc), so each
 * direction's per-cell cost is the mix's alone, in its steady state. The load generator shares the
 * 2-core machine, so the wall-clock rate is reported too but the CPU rate is the figure.
 */
import { fileURLToPath } from 'node:url'
import { performance } from 'node:perf_hooks'
import { randomBytes, x25519KeyPair } from '../src/crypto/index.js'
import { linkPrologue, makeCascade } from '../src/directory/cascade.js'
import { cascadeToJson } from '../src/directory/cascade-json.js'
import type { CellLink } from '../src/link/cell-link.js'
import { acceptPredecessors, dialNext } from '../src/link/predecessor.js'
import { CellCommand, cellCircuitId, cellCommand, encodeCell, writeCellHeader } from '../src/protocol/cell.js'
import { CELL_HEADER_BYTES } from '../src/protocol/geometry.js'
import { createOnion } from '../src/protocol/onion.js'
import { ForwardSealer } from '../src/protocol/relay-layers.js'
import { startChild, type BenchChild } from './child-process.js'
import { freePorts } from '../src/node/start/free-ports.js'
import { processTreeCpuSeconds } from './proc-cpu.js'

export interface DirectionResult {
  readonly cells: number
  readonly wallSeconds: number
  readonly mixCpuSeconds: number
  /** Cells through the mix per second of its CPU. */
  readonly cellsPerCpuSecond: number
  /** Microseconds of the mix's CPU per cell. */
  readonly usPerCell: number
  readonly cellsPerWallSecond: number
}

export interface MixLoadResult {
  readonly method: string
  readonly cellSize: number
  readonly hops: number
  readonly circuits: number
  readonly window: number
  readonly forward: DirectionResult
  readonly backward: DirectionResult
  /** Averaged over one forward and one backward cell, as the crypto-only figure is. */
  readonly usPerCell: number
  readonly cellsPerCpuSecond: number
  /** The mix's own counters at the end (nothing failed authentication, nothing unknown). */
  readonly mixStats: Record<string, number> | undefined
}

export interface MixLoadOptions {
  readonly cellSize: number
  readonly hops: number
  readonly circuits: number
  /** Forward cells, all pre-sealed before the phase starts. */
  readonly forwardCells: number
  /** How long the backward phase sends. */
  readonly backwardSeconds: number
  readonly window: number
  /**
   * Unmeasured load before each direction's measured phase (default DEFAULT_WARMUP): a fresh
   * process pays for JIT compilation, heap growth and first-touch page faults over its first
   * cells, which inflated the per-cell figure of short phases (bench --quick: 10 000 cells).
   */
  readonly warmup?: { readonly forwardCells: number, readonly backwardSeconds: number }
  /** Node flags for the mix child (e.g. --cpu-prof, to profile one hop's cell path). */
  readonly nodeFlags?: readonly string[]
}

/** Measured 2026-12-07 (load 12–19): 10 000 forward cells cost 48 µs each, 60 000 28, 200 000 17; so every figure is taken after this much. */
export const DEFAULT_WARMUP = { forwardCells: 20_000, backwardSeconds: 1 }

const BATCH = 64
const HOST = '127.0.0.1'

async function until (condition: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`mix-load: timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}

function direction (cells: number, wallSeconds: number, mixCpuSeconds: number): DirectionResult {
  return {
    cells,
    wallSeconds,
    mixCpuSeconds,
    cellsPerCpuSecond: cells / mixCpuSeconds,
    usPerCell: (mixCpuSeconds * 1e6) / cells,
    cellsPerWallSecond: cells / wallSeconds,
  }
}

export async function runMixLoad (options: MixLoadOptions): Promise<MixLoadResult> {
  const { cellSize, hops, window } = options
  const keys = Array.from({ length: hops }, () => ({ link: x25519KeyPair(), onion: x25519KeyPair() }))
  const [mixPort, nextPort] = (await freePorts('127.0.0.1', 2)) as [number, number]
  const epochS = 3600
  const epoch = Math.floor(Date.now() / 1000 / epochS)
  const cascade = makeCascade({
    cellSize,
    roundMs: 10,
    epochS,
    genesis: 0,
    epoch,
    hops: keys.map((k, i) => ({
      role: i === hops - 1 ? 'exit' as const : 'mix' as const,
      // Only hops 1 (the child) and 2 (the bench) listen; the others are never dialled.
      address: { host: HOST, port: i === 0 ? mixPort : i === 1 ? nextPort : 9 + i },
      linkKey: k.link.publicKey,
      onionKey: k.onion.publicKey,
    })),
  })
  const geometry = cascade.geometry

  // Hop 2's place: count forward cells, remember the circuits the mix opened.
  const outIds: number[] = []
  let successor: CellLink | null = null
  let forwardArrived = 0
  let backwardArrived = 0
  let onProgress = (): void => {}
  const listener = await acceptPredecessors({
    listen: { host: HOST, port: nextPort },
    cellSize,
    localStatic: keys[1]!.link,
    predecessorKey: keys[0]!.link.publicKey,
    prologue: linkPrologue(cascade, 2),
    attach: (link) => {
      successor = link
      return {
        onCell: (cell) => {
          const command = cellCommand(cell)
          if (command === CellCommand.RELAY) { forwardArrived++; onProgress() } else if (command === CellCommand.CREATE) outIds.push(cellCircuitId(cell))
        },
        onClose: () => {},
      }
    },
  })

  let child: BenchChild | undefined
  let entry: CellLink | undefined
  try {
    child = await startChild({
      script: fileURLToPath(new URL('./mix-child.js', import.meta.url)),
      args: [],
      ...(options.nodeFlags === undefined ? {} : { nodeFlags: options.nodeFlags }),
      env: {
        MIXGATE_BENCH_MIX: JSON.stringify({
          cascade: cascadeToJson(cascade),
          position: 1,
          linkSecret: Buffer.from(keys[0]!.link.secretKey).toString('hex'),
          onionSecret: Buffer.from(keys[0]!.onion.secretKey).toString('hex'),
        }),
      },
      ready: /^mix: ready$/,
    })
    const pid = child.pid
    entry = await dialNext({ address: { host: HOST, port: mixPort }, cellSize, localStatic: undefined, remoteStatic: keys[0]!.link.publicKey, prologue: linkPrologue(cascade, 1) }, {
      onCell: (cell) => { if (cellCommand(cell) === CellCommand.RELAY) { backwardArrived++; onProgress() } },
      onClose: () => {},
    })
    const toMix = entry

    // Circuits: real CREATE onions through the entry.
    const sealers: ForwardSealer[] = []
    const creates: Uint8Array[] = []
    for (let c = 0; c < options.circuits; c++) {
      const onion = createOnion(keys.map((k) => k.onion.publicKey), { geometry, cascadeId: cascade.id, epoch })
      creates.push(encodeCell(geometry, c + 1, CellCommand.CREATE, onion.header))
      sealers.push(new ForwardSealer(geometry, onion.hopKeys))
    }
    toMix.send(creates)
    await until(() => outIds.length === options.circuits && successor !== null, 'the mix to open its circuits', 10_000)
    const toPredecessor = successor as unknown as CellLink

    // A windowed pump: at most `window` cells in flight, topped up as cells arrive.
    const pump = async (send: (n: number) => void, sentTotal: () => number, arrived: () => number, more: () => boolean): Promise<void> => {
      await new Promise<void>((resolve, reject) => {
        let scheduled = false
        const top = (): void => {
          scheduled = false
          while (more() && sentTotal() - arrived() < window) send(Math.min(BATCH, window - (sentTotal() - arrived())))
          if (!more() && arrived() >= sentTotal()) { clearInterval(stall); resolve() }
        }
        let last = -1
        const stall = setInterval(() => {
          if (arrived() === last) { clearInterval(stall); reject(new Error('mix-load: cells stopped arriving (lost in the mix?)')) }
          last = arrived()
        }, 5000)
        onProgress = () => { if (!scheduled) { scheduled = true; setImmediate(top) } }
        top()
      }).finally(() => { onProgress = () => {} })
    }

    // Forward: pre-sealed cells, round-robin over the circuits; the warm-up's first, in the
    // circuits' counter order, then the measured ones.
    const warmup = options.warmup ?? DEFAULT_WARMUP
    const forwardCells: Uint8Array[] = new Array(warmup.forwardCells + options.forwardCells)
    const payload = new Uint8Array(geometry.forwardPayloadBytes)
    for (let i = 0; i < forwardCells.length; i++) {
      const c = i % options.circuits
      const cell = new Uint8Array(cellSize)
      cell.set(sealers[c]!.seal(payload), CELL_HEADER_BYTES)
      writeCellHeader(cell, c + 1, CellCommand.RELAY)
      forwardCells[i] = cell
    }
    let forwardSent = 0
    const forwardPhase = async (cells: number): Promise<DirectionResult> => {
      const end = forwardSent + cells
      const arrivedBefore = forwardArrived
      const cpu0 = processTreeCpuSeconds(pid)
      const t0 = performance.now()
      await pump((n) => {
        const k = Math.min(n, end - forwardSent)
        toMix.send(forwardCells.slice(forwardSent, forwardSent + k))
        forwardSent += k
      }, () => forwardSent, () => forwardArrived, () => forwardSent < end)
      return direction(forwardArrived - arrivedBefore, (performance.now() - t0) / 1000, processTreeCpuSeconds(pid) - cpu0)
    }
    if (warmup.forwardCells > 0) await forwardPhase(warmup.forwardCells)
    const forward = await forwardPhase(options.forwardCells)
    forwardCells.length = 0

    // Backward: hop 2 answers on every circuit for a fixed time (after the warm-up's time).
    const backwardPerCircuit = outIds.map((id) => {
      const cell = randomBytes(cellSize)
      writeCellHeader(cell, id, CellCommand.RELAY)
      return cell
    })
    const ring = Array.from({ length: BATCH }, (_, i) => backwardPerCircuit[i % backwardPerCircuit.length]!)
    let backwardSent = 0
    const backwardPhase = async (seconds: number): Promise<DirectionResult> => {
      const arrivedBefore = backwardArrived
      const stopAt = performance.now() + seconds * 1000
      const cpu0 = processTreeCpuSeconds(pid)
      const t0 = performance.now()
      await pump((n) => {
        toPredecessor.send(n === BATCH ? ring : ring.slice(0, n))
        backwardSent += n
      }, () => backwardSent, () => backwardArrived, () => performance.now() < stopAt)
      return direction(backwardArrived - arrivedBefore, (performance.now() - t0) / 1000, processTreeCpuSeconds(pid) - cpu0)
    }
    if (warmup.backwardSeconds > 0) await backwardPhase(warmup.backwardSeconds)
    const backward = await backwardPhase(options.backwardSeconds)

    await child.stop()
    const statsLine = child.lines.find((line) => line.startsWith('{'))
    const mixStats = statsLine === undefined ? undefined : (JSON.parse(statsLine) as { stats: Record<string, number> }).stats
    if (mixStats !== undefined && (mixStats['relayAuthFailures'] !== 0 || mixStats['unknownCircuitCells'] !== 0)) {
      throw new Error('mix-load: the mix dropped cells (authentication failures or unknown circuits)')
    }
    const usPerCell = (forward.usPerCell + backward.usPerCell) / 2
    return {
      method: 'one MixNode (entry position) in its own process, driven over real links by the bench, each direction after an unmeasured warm-up; CPU from /proc of that process',
      cellSize,
      hops,
      circuits: options.circuits,
      window,
      forward,
      backward,
      usPerCell,
      cellsPerCpuSecond: 1e6 / usPerCell,
      mixStats,
    }
  } finally {
    entry?.close()
    await child?.stop()
    await listener.close()
  }
}
