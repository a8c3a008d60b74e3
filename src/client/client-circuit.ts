/**
 * One circuit as the client holds it: every hop's layer keys (so RELAY cells can follow the
 * CREATE at once: zero round trips), its streams, and what isolates it from other streams.
 * Its place in a shaped schedule is the Shaper's to keep (shaping/shaped-circuit.ts).
 */
import type { BackwardOpener, ForwardSealer } from '../protocol/relay-layers.js'
import type { CircuitStreams } from '../endpoint/circuit-streams.js'
import { MAX_STREAM_ID } from '../protocol/relay-payload.js'

export class ClientCircuit {
  readonly id: number
  readonly isolationKey: string
  readonly sealer: ForwardSealer
  readonly opener: BackwardOpener
  streams!: CircuitStreams
  readonly createdAt: number
  /** The epoch whose onion keys built it. */
  readonly epoch: number
  lastSent: number
  /** Set on an integrity failure or silence: no new streams; alarm raised; streams fail later. */
  suspect = false
  /**
   * A request on it went unanswered for the attach timeout (opening-streams.ts): no new
   * streams, as Tor stops using such a circuit; no alarm (the exit may just be slow: the
   * alarm waits for the stream timeout).
   */
  unanswered = false
  ended = false
  private nextStream = 1

  constructor (id: number, isolationKey: string, sealer: ForwardSealer, opener: BackwardOpener, now: number, epoch = -1) {
    this.id = id
    this.isolationKey = isolationKey
    this.sealer = sealer
    this.opener = opener
    this.createdAt = now
    this.epoch = epoch
    this.lastSent = now
  }

  /** A stream ID not in use on this circuit, or 0 if all are. */
  allocateStreamId (): number {
    for (let tries = 0; tries < MAX_STREAM_ID; tries++) {
      const id = this.nextStream
      this.nextStream = this.nextStream === MAX_STREAM_ID ? 1 : this.nextStream + 1
      if (!this.streams.has(id)) return id
    }
    return 0
  }
}
