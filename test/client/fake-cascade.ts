/**
 * Test helper: the whole cascade as seen from a client, in one listener. It accepts the
 * client's real NK link as the entry, opens each CREATE with every hop's onion key (the
 * test holds them all), and peels each forward RELAY cell through every hop's layer, so a
 * test sees what the exit would: per circuit, how many cells arrived and how many were
 * LOOPs. It answers nothing unless given `answer`, which plays a (hostile) exit: what it
 * returns for a relay message is sealed through every hop's backward layer and sent back on
 * that circuit. It can send the client a backward cell that fails authentication (what a
 * tampering hop sends), the real way to make a circuit suspect.
 */
import { randomBytes, x25519KeyPair, type KeyPair } from '../../src/crypto/index.js'
import { cascadeEpochAt, linkPrologue, makeCascade, type Cascade, type CascadeSource } from '../../src/directory/cascade.js'
import type { CellLink } from '../../src/link/cell-link.js'
import type { LinkListener } from '../../src/link/listen.js'
import { acceptPredecessors } from '../../src/link/predecessor.js'
import { cellCircuitId, cellCommand, CellCommand, encodeCell } from '../../src/protocol/cell.js'
import { CELL_HEADER_BYTES } from '../../src/protocol/geometry.js'
import { openOnion } from '../../src/protocol/onion.js'
import { BackwardSealer, ForwardPeeler } from '../../src/protocol/relay-layers.js'
import { CIRCUIT_STREAM, decodeRelay, encodeRelay, RelayCommand, type RelayMessage } from '../../src/protocol/relay-payload.js'
import type { ShapingParams } from '../../src/protocol/shaping.js'

/** What the exit would have seen of one circuit. */
export interface SeenCircuit {
  readonly id: number
  /** RELAY cells that came through every layer. */
  cells: number
  loops: number
  destroyed: boolean
}

export interface FakeCascade {
  readonly source: CascadeSource
  readonly circuits: ReadonlyMap<number, SeenCircuit>
  /** Send the client a RELAY cell on `circuitId` whose body authenticates under no key. */
  sendGarbage (circuitId: number): void
  close (): Promise<void>
}

export interface FakeCascadeOptions {
  readonly shaping: ShapingParams
  readonly cellSize?: number
  readonly roundMs?: number
  /** Epoch length (default ten days: no circuit is cut by an epoch's end during a test). */
  readonly epochS?: number
  readonly hops?: number
  /** The exit's answer to a relay message on the same stream (undefined: none). */
  readonly answer?: (message: RelayMessage) => { command: RelayCommand, data: Uint8Array } | undefined
}

export async function startFakeCascade (options: FakeCascadeOptions): Promise<FakeCascade> {
  const hopCount = options.hops ?? 3
  const epochS = options.epochS ?? 10 * 86_400
  const onionPairs: KeyPair[] = Array.from({ length: hopCount }, () => x25519KeyPair())
  const linkPair = x25519KeyPair()
  const circuits = new Map<number, SeenCircuit>()
  const peelers = new Map<number, ForwardPeeler[]>()
  const sealers = new Map<number, BackwardSealer[]>()
  let entry: CellLink | null = null
  let cascade: Cascade | undefined
  // A fixed ID (a signed descriptor's would do the same): the link prologue needs it before
  // the port the cascade lists is known.
  const cascadeId = randomBytes(32)
  const build = (port: number): Cascade => {
    const epoch = Math.floor(Date.now() / 1000 / epochS)
    return makeCascade({
      id: cascadeId,
      cellSize: options.cellSize ?? 1024,
      roundMs: options.roundMs ?? 10,
      epochS,
      genesis: 0,
      shaping: options.shaping,
      hops: onionPairs.map((pair, i) => ({
        role: i === hopCount - 1 ? 'exit' as const : 'mix' as const,
        address: { host: '127.0.0.1', port: i === 0 ? port : 9 },
        linkKey: i === 0 ? linkPair.publicKey : randomBytes(32),
        onionKeys: [epoch - 1, epoch, epoch + 1].map((e) => ({ epoch: e, onionKey: pair.publicKey })),
      })),
    })
  }

  const created = (id: number, body: Uint8Array): void => {
    const geometry = cascade!.geometry
    const now = cascadeEpochAt(cascade!)
    for (const epoch of [now, now - 1, now + 1]) {
      try {
        const context = { geometry, cascadeId: cascade!.id, epoch }
        const layers: ForwardPeeler[] = []
        const backward: BackwardSealer[] = []
        let next: Uint8Array | null = body
        for (let i = 0; i < hopCount; i++) {
          const opened = openOnion(onionPairs[i]!, i + 1, next!, context)
          layers.push(new ForwardPeeler(geometry, i + 1, opened.keys.forward))
          backward.push(new BackwardSealer(geometry, i + 1, opened.keys.backward))
          next = opened.next
        }
        peelers.set(id, layers)
        sealers.set(id, backward)
        circuits.set(id, { id, cells: 0, loops: 0, destroyed: false })
        return
      } catch {
        // another epoch's binding, or not a CREATE of ours
      }
    }
  }

  const relay = (id: number, body: Uint8Array): void => {
    const layers = peelers.get(id)
    const seen = circuits.get(id)
    if (layers === undefined || seen === undefined) return
    let current: Uint8Array | null = body
    for (const layer of layers) {
      current = layer.peel(current!)
      if (current === null) return
    }
    seen.cells++
    const message = decodeRelay(current!)
    if (message.streamId === CIRCUIT_STREAM && message.command === RelayCommand.LOOP) seen.loops++
    const reply = options.answer?.(message)
    if (reply === undefined || entry === null) return
    // The exit seals first, then each hop back to the entry (PROTOCOL.md §6.2).
    const geometry = cascade!.geometry
    let sealed: Uint8Array = encodeRelay(geometry.backwardPayloadBytes, message.streamId, reply.command, reply.data)
    for (const sealer of [...sealers.get(id)!].reverse()) sealed = sealer.seal(sealed)
    entry.send([encodeCell(geometry, id, CellCommand.RELAY, sealed)])
  }

  const listener: LinkListener = await acceptPredecessors({
    listen: { host: '127.0.0.1', port: 0 },
    cellSize: options.cellSize ?? 1024,
    localStatic: linkPair,
    predecessorKey: undefined,
    prologue: linkPrologue({ id: cascadeId } as Cascade, 1),
    attach: (link) => {
      entry = link
      return {
        onCell: (cell) => {
          const id = cellCircuitId(cell)
          const command = cellCommand(cell)
          if (command === CellCommand.CREATE) created(id, cell.subarray(CELL_HEADER_BYTES))
          else if (command === CellCommand.RELAY) relay(id, cell.subarray(CELL_HEADER_BYTES))
          else if (command === CellCommand.DESTROY) { const seen = circuits.get(id); if (seen !== undefined) seen.destroyed = true }
        },
        onClose: () => { if (entry === link) entry = null },
      }
    },
  })
  cascade = build(listener.address().port)

  return {
    source: { current: () => cascade! },
    circuits,
    sendGarbage (circuitId) {
      const cell = new Uint8Array(cascade!.geometry.cellSize)
      cell.set(randomBytes(cell.length - CELL_HEADER_BYTES), CELL_HEADER_BYTES)
      cell[0] = circuitId >>> 24; cell[1] = (circuitId >>> 16) & 0xff; cell[2] = (circuitId >>> 8) & 0xff; cell[3] = circuitId & 0xff
      cell[4] = CellCommand.RELAY
      if (entry === null) throw new Error('the client has no link to the fake entry')
      entry.send([cell])
    },
    close: () => listener.close(),
  }
}
