/**
 * The real cells one shaped circuit waits to send (issue #5 "Client"): they leave only in the
 * circuit's scheduled slots, never as extra sends. Control first (circuit-level SENDME and
 * every stream's SENDME: credit must not wait behind data, or both ends stall), then the
 * streams in turn, one cell each (round robin, so one bulk stream cannot starve the others).
 *
 * Held as encoded relay payloads, sealed only when their slot comes, so the layer counter
 * follows the order of sending and every cell carries the rung request of the slot it
 * leaves in. How much waits here is bounded by the flow-control windows (a stream only
 * produces DATA while it has credit).
 */
import { CIRCUIT_STREAM, RelayCommand } from '../../protocol/relay-payload.js'

export class SendQueue {
  private readonly control: Uint8Array[] = []
  private readonly streams = new Map<number, Uint8Array[]>()
  /** Streams with cells waiting, in the order they are served next. */
  private readonly turn: number[] = []
  private count = 0
  /** Whether the cell `next` returned last was a control cell (stream 0 or a SENDME). */
  lastControl = false

  /** Cells waiting. */
  get size (): number { return this.count }

  push (streamId: number, command: RelayCommand, payload: Uint8Array): void {
    this.count++
    if (streamId === CIRCUIT_STREAM || command === RelayCommand.SENDME) {
      this.control.push(payload)
      return
    }
    let queue = this.streams.get(streamId)
    if (queue === undefined) {
      queue = []
      this.streams.set(streamId, queue)
    }
    if (queue.length === 0) this.turn.push(streamId)
    queue.push(payload)
  }

  /** The next cell's payload, or null when nothing real waits. */
  next (): Uint8Array | null {
    const control = this.control.shift()
    if (control !== undefined) { this.count--; this.lastControl = true; return control }
    this.lastControl = false
    const streamId = this.turn.shift()
    if (streamId === undefined) return null
    const queue = this.streams.get(streamId)!
    const payload = queue.shift()!
    if (queue.length > 0) this.turn.push(streamId)
    else this.streams.delete(streamId)
    this.count--
    return payload
  }

  clear (): void {
    this.control.length = 0
    this.streams.clear()
    this.turn.length = 0
    this.count = 0
  }
}
