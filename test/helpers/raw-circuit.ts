/**
 * Test helper: a hand-made client of the cascade, built from the protocol primitives and a
 * raw NK link to the entry — so a test can do what the real client never does: flip a bit
 * in a sealed cell, send the same CREATE twice, speak on circuits the entry refused.
 * It records every cell the entry sends back.
 */
import { cascadeEpochAt, linkPrologue, onionKeysFor, type Cascade, type CascadeSource } from '../../src/directory/cascade.js'
import { dialLink, type Link } from '../../src/link/index.js'
import { CellCommand, encodeCell, randomCircuitId } from '../../src/protocol/cell.js'
import { CELL_HEADER_BYTES } from '../../src/protocol/geometry.js'
import { roundAt } from '../../src/protocol/shaping.js'
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
  /** The epoch whose onion keys built it. */
  readonly epoch: number
}

export class RawClient {
  readonly link: Link
  private readonly source: CascadeSource
  /** Every cell the entry sent us, in order. */
  readonly received: Uint8Array[] = []

  private constructor (link: Link, source: CascadeSource) {
    this.link = link
    this.source = source
    link.on('cell', (cell) => this.received.push(cell))
  }

  /** The cascade now (its onion keys may have rotated since `connect`). */
  get cascade (): Cascade {
    return this.source.current()
  }

  /** Dial the entry mix as a client does (Noise NK, the entry's pinned link key). */
  static async connect (cascadeOrSource: Cascade | CascadeSource): Promise<RawClient> {
    const source = 'current' in cascadeOrSource ? cascadeOrSource : { current: () => cascadeOrSource }
    const cascade = source.current()
    const entry = cascade.hops[0]!
    const link = await dialLink({
      host: entry.address.host,
      port: entry.address.port,
      cellSize: cascade.geometry.cellSize,
      pattern: 'NK',
      remoteStatic: entry.linkKey,
      prologue: linkPrologue(cascade, 1),
    })
    return new RawClient(link, source)
  }

  /**
   * Build a circuit's onion with the keys of `epoch` (default: the epoch current now) and
   * send its CREATE on a fresh random ID.
   */
  createCircuit (epoch?: number): RawCircuit {
    const cascade = this.cascade
    const { geometry } = cascade
    const at = epoch ?? cascadeEpochAt(cascade)
    const keys = onionKeysFor(cascade, at)
    if (keys === undefined) throw new Error(`the cascade has no onion keys for epoch ${at}`)
    const onion = createOnion(keys, { geometry, cascadeId: cascade.id, epoch: at })
    const id = randomCircuitId(() => false)
    const create = encodeCell(geometry, id, CellCommand.CREATE, onion.header)
    this.write([create])
    return { id, onion, sealer: new ForwardSealer(geometry, onion.hopKeys), opener: new BackwardOpener(geometry, onion.hopKeys), create, epoch: at }
  }

  /** Send the body of `create` again as a CREATE on circuit `id` (a replay). */
  createOn (id: number, create: Uint8Array): void {
    this.write([encodeCell(this.cascade.geometry, id, CellCommand.CREATE, create.subarray(CELL_HEADER_BYTES))])
  }

  /** A RELAY cell for `circuit` carrying one relay message, sealed for every hop (not sent). */
  relayCell (circuit: RawCircuit, streamId: number, command: RelayCommand, data?: Uint8Array, id = circuit.id): Uint8Array {
    const { geometry } = this.cascade
    const body = circuit.sealer.seal(encodeRelay(geometry.forwardPayloadBytes, streamId, command, data))
    return encodeCell(geometry, id, CellCommand.RELAY, body)
  }

  send (...cells: Uint8Array[]): void {
    this.write(cells)
  }

  /** One write marked as the write of `round`, whenever it is sent (a client late with its write). */
  sendAs (round: number, ...cells: Uint8Array[]): void {
    this.link.send(cells, round)
  }

  /** One write, marked with the round it is sent in, as a client marks its writes (PROTOCOL.md §8.4). */
  private write (cells: Uint8Array[]): void {
    this.link.send(cells, roundAt(Date.now(), this.cascade.params.roundMs))
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
