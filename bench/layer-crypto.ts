/**
 * The crypto-only cost of a cell at a mix, from src/protocol directly: the time to peel one
 * forward layer (`ForwardPeeler.peel`) and to seal one backward layer (`BackwardSealer.seal`)
 * of a 2048-byte cell at the entry position (the largest layers), and, for comparison, the
 * link's seal and open per cell (the Noise transport cipher every cell also goes through, once
 * in and once out at every hop), measured on full batches (PROTOCOL.md §8.4) with the link's
 * own BatchSealer and BatchReader. Thousands of iterations, timed in this process's CPU time
 * after a warm-up. This is the floor a mix's per-cell cost is compared against.
 */
import { randomBytes } from '../src/crypto/index.js'
import { BatchReader } from '../src/link/batch-reader.js'
import { BatchSealer } from '../src/link/batch-sealer.js'
import { REKEY_AFTER_MESSAGES } from '../src/link/link-control.js'
import { CipherState } from '../src/link/noise/cipher-state.js'
import { Geometry } from '../src/protocol/geometry.js'
import type { HopKeys } from '../src/protocol/hop-keys.js'
import { BackwardSealer, ForwardPeeler, ForwardSealer } from '../src/protocol/relay-layers.js'

export interface LayerCryptoResult {
  readonly cellSize: number
  readonly hops: number
  readonly position: number
  readonly iterations: { peel: number, seal: number, link: number }
  /** Microseconds per forward layer peeled. */
  readonly peelUs: number
  /** Microseconds per backward layer sealed. */
  readonly sealUs: number
  /** Microseconds per cell, averaged over one forward and one backward cell. */
  readonly perCellUs: number
  /** Cells per second of CPU if a mix did nothing but its layer crypto. */
  readonly cryptoOnlyCellsPerSecond: number
  /**
   * Microseconds per cell to seal a full link batch and open it (the per-cell link cost at a
   * hop); until 2026-12 this was one frame per cell, sealed and opened with allocating calls.
   */
  readonly linkSealOpenUs: number
  /**
   * Cells per second of CPU if a mix did nothing but ALL its crypto on a cell: its layer and
   * the link's open and seal. A mix's own crypto ceiling, the one issue #12's "one mix ≥ 50 %
   * of its own crypto ceiling" is checked against (the layer alone is one AEAD of three).
   */
  readonly mixCryptoCellsPerSecond: number
}

const BATCH = 2000

/** This process's CPU time in microseconds (user + system). */
function cpuMicros (): number {
  const { user, system } = process.cpuUsage()
  return user + system
}

/**
 * Run `step` in batches until at least `minSeconds` of this process's CPU time have passed;
 * CPU microseconds per call. CPU time, as the mix's figure is: on a shared machine the wall
 * clock counts the neighbours' time too (at load 16 on 2 cores it made the ceiling ten times
 * lower, and the mix's ratio to it above 1).
 */
function timeIt (minSeconds: number, batch: (n: number) => void): { us: number, iterations: number } {
  batch(BATCH) // warm-up (JIT, wasm tier-up)
  let iterations = 0
  const start = cpuMicros()
  let elapsed = 0
  while (elapsed < minSeconds * 1e6 || iterations < 5 * BATCH) {
    batch(BATCH)
    iterations += BATCH
    elapsed = cpuMicros() - start
  }
  return { us: elapsed / iterations, iterations }
}

export function measureLayerCrypto (options: { cellSize: number, hops: number, minSeconds: number }): LayerCryptoResult {
  const geometry = new Geometry({ cellSize: options.cellSize, hops: options.hops })
  const position = 1
  const hopKeys: HopKeys[] = Array.from({ length: geometry.hops }, () => ({ forward: randomBytes(32), backward: randomBytes(32) }))

  // Forward: BATCH distinct sealed bodies; a fresh peeler (counter 0) peels them in order.
  const sealer = new ForwardSealer(geometry, hopKeys.map((k) => ({ forward: Uint8Array.from(k.forward), backward: k.backward })))
  const bodies = Array.from({ length: BATCH }, () => sealer.seal(randomBytes(geometry.forwardPayloadBytes)))
  const out = new Uint8Array(geometry.bodyBytes)
  const peel = timeIt(options.minSeconds, (n) => {
    const peeler = new ForwardPeeler(geometry, position, hopKeys[0]!.forward)
    for (let i = 0; i < n; i++) {
      if (peeler.peel(bodies[i]!, out) === null) throw new Error('layer-crypto: a sealed body did not peel')
    }
  })

  // Backward: seal a full body from "the next hop" into a preallocated output.
  const backward = new BackwardSealer(geometry, position, hopKeys[0]!.backward)
  const inner = randomBytes(geometry.bodyBytes)
  const seal = timeIt(options.minSeconds, (n) => {
    for (let i = 0; i < n; i++) backward.seal(inner, out)
  })

  // Link: full batches sealed by one end's BatchSealer and opened by the other's BatchReader.
  const key = randomBytes(32)
  const sender = new CipherState()
  const receiver = new CipherState()
  sender.initializeKey(key)
  receiver.initializeKey(key)
  const linkSealer = new BatchSealer(geometry.cellSize, sender, REKEY_AFTER_MESSAGES)
  const cells = Array.from({ length: linkSealer.maxCellsPerBatch }, () => randomBytes(geometry.cellSize))
  let opened = 0
  const reader = new BatchReader(geometry.cellSize, receiver, {
    onBatch: (_cells, count) => { opened += count; return true },
    onError: (error) => { throw error },
  })
  // timeIt counts calls; one call here is one batch, so the figure is divided by its cells.
  const batches = timeIt(options.minSeconds, (n) => {
    for (let i = 0; i < n; i++) reader.push(linkSealer.seal(cells) as Uint8Array)
  })
  if (opened === 0) throw new Error('layer-crypto: no link batch opened')
  const link = { us: batches.us / cells.length, iterations: batches.iterations * cells.length }

  const perCellUs = (peel.us + seal.us) / 2
  return {
    cellSize: geometry.cellSize,
    hops: geometry.hops,
    position,
    iterations: { peel: peel.iterations, seal: seal.iterations, link: link.iterations },
    peelUs: peel.us,
    sealUs: seal.us,
    perCellUs,
    cryptoOnlyCellsPerSecond: 1e6 / perCellUs,
    linkSealOpenUs: link.us,
    mixCryptoCellsPerSecond: 1e6 / (perCellUs + link.us),
  }
}
