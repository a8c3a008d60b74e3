/**
 * Test helper: a hand-made client of the cascade, built from the protocol primitives and a
 * raw NK link to the entry — so a test can do what the real client never does: flip a bit
 * in a sealed cell, send the same CREATE twice, speak on circuits the entry refused.
 * It records every cell the entry sends back.
 */
import { linkPrologue, type Cascade } from '../../src/directory/cascade.js'
import { dialLink, type Link } from '../../src/link/index.js'
import { CellCommand, encodeCell, randomCircuitId } from '../../src/protocol/cell.js'
import { CELL_HEADER_BYTES } from '../../src/protocol/geometry.js'
import { createOnion, type CreatedOnion } from '../../src/protocol/onion.js'
import { BackwardOpener, ForwardSealer } from '../../src/protocol/relay-layers.js'
import { encodeRelay, RelayCommand } from '../../src/protocol/relay-payload.js'

export interface RawCircuit {
  readonly id: number
  readonly onion: CreatedOnion
  readonly sealer: ForwardSealer
  readonly opener: BackwardOpener
  /** The CREATE cell as sent (send it again on another ID with `createOn`). */
  readonly create: Uint8Array
}

export class RawClient {
  readonly link: Link
  readonly cascade: Cascade
  /** Every cell the entry sent us, in order. */
  readonly received: Uint8Array[] = []

  private constructor (link: Link, cascade: Cascade) {
    this.link = link
    this.cascade = cascade
    link.on('cell', (cell) => this.received.push(cell))
  }

  /** Dial the entry mix as a client does (Noise NK, the entry's pinned link key). */
  static async connect (cascade: Cascade): Promise<RawClient> {
    const entry = cascade.hops[0]!
    const link = await dialLink({
      host: entry.address.host,
      port: entry.address.port,
      cellSize: cascade.geometry.cellSize,
      pattern: 'NK',
      remoteStatic: entry.linkKey,
      prologue: linkPrologue(cascade, 1),
    })
    return new RawClient(link, cascade)
  }

  /** Build a circuit's onion and send its CREATE on a fresh random ID. */
  createCircuit (): RawCircuit {
    const { geometry } = this.cascade
    const onion = createOnion(this.cascade.hops.map((h) => h.onionKey), { geometry, cascadeId: this.cascade.id, epoch: this.cascade.epoch })
    const id = randomCircuitId(() => false)
    const create = encodeCell(geometry, id, CellCommand.CREATE, onion.header)
    this.link.send([create])
    return { id, onion, sealer: new ForwardSealer(geometry, onion.hopKeys), opener: new BackwardOpener(geometry, onion.hopKeys), create }
  }

  /** Send the body of `create` again as a CREATE on circuit `id` (a replay). */
  createOn (id: number, create: Uint8Array): void {
    this.link.send([encodeCell(this.cascade.geometry, id, CellCommand.CREATE, create.subarray(CELL_HEADER_BYTES))])
  }

  /** A RELAY cell for `circuit` carrying one relay message, sealed for every hop (not sent). */
  relayCell (circuit: RawCircuit, streamId: number, command: RelayCommand, data?: Uint8Array, id = circuit.id): Uint8Array {
    const { geometry } = this.cascade
    const body = circuit.sealer.seal(encodeRelay(geometry.forwardPayloadBytes, streamId, command, data))
    return encodeCell(geometry, id, CellCommand.RELAY, body)
  }

  send (...cells: Uint8Array[]): void {
    this.link.send(cells)
  }

  close (): void {
    this.link.close()
  }
}

/** A copy of `cell` with one bit flipped at `offset` of its body. */
export function flipBit (cell: Uint8Array, offset = 10, bit = 0): Uint8Array {
  const copy = Uint8Array.from(cell)
  copy[CELL_HEADER_BYTES + offset]! ^= 1 << bit
  return copy
}

export { RelayCommand }
