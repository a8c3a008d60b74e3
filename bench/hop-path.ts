/**
 * The hop's own per-cell cost, without links: a real MixNode (entry of 3 mixes + exit,
 * unshaped, real rounds on its real clock) in this process, between two in-memory links that
 * only count what the mix sends. Cells go in through the handlers the mix gives its links,
 * a round's worth at a time; each round's cells are out before the next go in. So the figure
 * is dispatch, the layer crypto, the round's shuffle and the hand-over to the link, per
 * cell, and none of the link's batch crypto, copies or sockets (link-path.ts measures those).
 *
 *   npm run build && node dist/bench/hop-path.js [rounds, default 40] [cells per round, default 1024]
 *
 * CPU time of this process (process.cpuUsage) over each phase, per cell; best of five runs
 * of each phase after a warm-up; beside it the layer crypto alone (layer-crypto.ts), so the
 * difference is what the hop spends on a cell beyond its AEAD. Uses only the MixNode's
 * constructor, start(), attachPredecessor() and the successor handlers, so the same compiled
 * file runs against an older build for a before/after.
 */
import { cryptoReady, randomBytes, x25519KeyPair } from '../src/crypto/index.js'
import { makeCascade } from '../src/directory/cascade.js'
import type { CellLink, CellLinkHandlers } from '../src/link/cell-link.js'
import { MixNode } from '../src/mix/mix-node.js'
import { CellCommand, cellCircuitId, cellCommand, encodeCell, writeCellHeader } from '../src/protocol/cell.js'
import { CELL_HEADER_BYTES } from '../src/protocol/geometry.js'
import { createOnion } from '../src/protocol/onion.js'
import { ForwardSealer } from '../src/protocol/relay-layers.js'
import { createLogger } from '../src/base/logger.js'
import { fixedOnionKey } from './fixed-onion-key.js'
import { measureLayerCrypto } from './layer-crypto.js'

const CELL = 2048
const HOPS = 4
const CIRCUITS = 16
const RUNS = 6 // run 0 warms up
const rounds = Number(process.argv[2] ?? 40)
const perRound = Number(process.argv[3] ?? 1024)

/** A link that only counts: what the mix sends, by command. */
class CountingLink implements CellLink {
  relay = 0
  readonly creates: number[] = []
  readonly isOpen = true
  readonly backlogBytes = 0
  readonly roundIn = 0
  send (cells: Uint8Array[]): boolean {
    for (const cell of cells) {
      const command = cellCommand(cell)
      if (command === CellCommand.RELAY) this.relay++
      else if (command === CellCommand.CREATE) this.creates.push(cellCircuitId(cell))
    }
    return true
  }
  pauseInput (): void {}
  resumeInput (): void {}
  close (): void {}
}

async function until (condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`hop-path: timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 1))
  }
}

const cpuMicros = (): number => { const { user, system } = process.cpuUsage(); return user + system }

await cryptoReady()
const keys = Array.from({ length: HOPS }, () => ({ link: x25519KeyPair(), onion: x25519KeyPair() }))
const cascade = makeCascade({
  cellSize: CELL,
  roundMs: 10,
  epochS: 3600,
  genesis: 0,
  epoch: Math.floor(Date.now() / 1000 / 3600),
  hops: keys.map((k, i) => ({ role: i === HOPS - 1 ? 'exit' as const : 'mix' as const, address: { host: '127.0.0.1', port: 9 + i }, linkKey: k.link.publicKey, onionKey: k.onion.publicKey })),
})
const geometry = cascade.geometry
const epoch = Math.floor(Date.now() / 1000 / 3600)

const successor = new CountingLink()
let fromSuccessor: CellLinkHandlers | undefined
const mix = new MixNode({
  geometry,
  position: 1,
  cascadeId: cascade.id,
  onionKeys: fixedOnionKey(keys[0]!.onion, cascade),
  roundMs: 10,
  logger: createLogger({ role: 'mix[1]', level: 'warn' }),
  connectSuccessor: async (handlers) => { fromSuccessor = handlers; return successor },
})
mix.start()
await until(() => mix.successorUp, 'the successor link')
const predecessor = new CountingLink()
const toMix = mix.attachPredecessor(predecessor)

const sealers: ForwardSealer[] = []
const creates: Uint8Array[] = []
for (let c = 0; c < CIRCUITS; c++) {
  const onion = createOnion(keys.map((k) => k.onion.publicKey), { geometry, cascadeId: cascade.id, epoch })
  creates.push(encodeCell(geometry, c + 1, CellCommand.CREATE, onion.header))
  sealers.push(new ForwardSealer(geometry, onion.hopKeys))
}
for (const cell of creates) toMix.onCell(cell)
await until(() => successor.creates.length === CIRCUITS, 'the mix to open its circuits')

// Forward: freshly sealed cells (a cell is peeled in place, so each is used once), laid out as
// a link hands them on: views of one buffer.
const payload = new Uint8Array(geometry.forwardPayloadBytes)
function sealedRound (): Uint8Array[] {
  const bytes = new Uint8Array(perRound * CELL)
  return Array.from({ length: perRound }, (_, i) => {
    const c = i % CIRCUITS
    const cell = bytes.subarray(i * CELL, (i + 1) * CELL)
    sealers[c]!.seal(payload, 0, cell.subarray(CELL_HEADER_BYTES))
    writeCellHeader(cell, c + 1, CellCommand.RELAY)
    return cell
  })
}

async function forwardRun (): Promise<number> {
  const input = Array.from({ length: rounds }, sealedRound)
  let cpu = 0
  for (const cells of input) {
    const target = successor.relay + cells.length
    const before = cpuMicros()
    for (const cell of cells) toMix.onCell(cell)
    await until(() => successor.relay >= target, 'forward cells')
    cpu += cpuMicros() - before
  }
  return cpu / (rounds * perRound)
}

// Backward: the successor's cells on the circuits the mix opened (their bodies need no meaning).
async function backwardRun (): Promise<number> {
  const input = Array.from({ length: rounds }, () => {
    const bytes = randomBytes(perRound * CELL)
    return Array.from({ length: perRound }, (_, i) => {
      const cell = bytes.subarray(i * CELL, (i + 1) * CELL)
      writeCellHeader(cell, successor.creates[i % CIRCUITS]!, CellCommand.RELAY)
      return cell
    })
  })
  let cpu = 0
  for (const cells of input) {
    const target = predecessor.relay + cells.length
    const before = cpuMicros()
    for (const cell of cells) fromSuccessor!.onCell(cell)
    await until(() => predecessor.relay >= target, 'backward cells')
    cpu += cpuMicros() - before
  }
  return cpu / (rounds * perRound)
}

let forward = Infinity
let backward = Infinity
for (let run = 0; run < RUNS; run++) {
  const f = await forwardRun()
  const b = await backwardRun()
  if (run > 0) { forward = Math.min(forward, f); backward = Math.min(backward, b) }
}
const crypto = measureLayerCrypto({ cellSize: CELL, hops: HOPS, minSeconds: 0.5 })
await mix.stop()
const stats = mix.stats
if (stats.relayAuthFailures !== 0 || stats.unknownCircuitCells !== 0) throw new Error('hop-path: the mix dropped cells')
console.log(JSON.stringify({
  cellSize: CELL,
  rounds,
  cellsPerRound: perRound,
  usPerCell: { forward: Number(forward.toFixed(2)), backward: Number(backward.toFixed(2)) },
  layerCryptoUs: { peel: Number(crypto.peelUs.toFixed(2)), seal: Number(crypto.sealUs.toFixed(2)) },
  beyondLayerUs: { forward: Number((forward - crypto.peelUs).toFixed(2)), backward: Number((backward - crypto.sealUs).toFixed(2)) },
}))
