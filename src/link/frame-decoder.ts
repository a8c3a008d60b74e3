/**
 * Cuts a TCP byte stream into fixed-size frames: the handshake's 48-byte messages, which
 * carry no length field (after the handshake, batch-reader.ts takes over).
 *
 * The decoder holds at most one partial frame (a preallocated buffer of frameSize bytes),
 * never more. A frame that lies entirely inside one chunk is passed on as a view of that
 * chunk, without a copy; only a frame that straddles chunks is assembled in the buffer.
 *
 * The frame handed to the sink is valid only during the call: it is a view into the caller's
 * chunk or into the reassembly buffer, which the next frame reuses. Copy it to keep it.
 * The sink returns `false` to stop: `push` then returns
 * how many bytes of the chunk it consumed, so the caller can hand the rest elsewhere (used to
 * pass bytes that follow the last handshake message on to the link).
 */

/**
 * Receives one complete frame; returns false to stop decoding (e.g. the link closed).
 * `reassembled` is true when `frame` is the decoder's own buffer (the next frame reuses it),
 * false when it is a view of the pushed chunk (which the decoder never writes).
 */
export type FrameSink = (frame: Uint8Array, reassembled: boolean) => boolean

export class FrameDecoder {
  readonly frameSize: number
  private readonly sink: FrameSink
  private readonly partial: Uint8Array
  private filled = 0
  private completed = 0

  constructor (frameSize: number, sink: FrameSink) {
    if (!Number.isInteger(frameSize) || frameSize <= 0) throw new RangeError('frameSize must be a positive integer')
    this.frameSize = frameSize
    this.sink = sink
    this.partial = new Uint8Array(frameSize)
  }

  /** Bytes of an incomplete frame held since the last complete one (0 .. frameSize-1). */
  get pendingBytes (): number {
    return this.filled
  }

  /** Complete frames passed to the sink so far. */
  get framesDecoded (): number {
    return this.completed
  }

  /**
   * Feed one chunk. Returns the number of bytes consumed: `chunk.length`, unless the sink
   * returned false, in which case it is the offset just after the frame that stopped it.
   */
  push (chunk: Uint8Array): number {
    const size = this.frameSize
    const length = chunk.length
    let offset = 0

    if (this.filled > 0) {
      const take = Math.min(size - this.filled, length)
      this.partial.set(chunk.subarray(0, take), this.filled)
      this.filled += take
      offset = take
      if (this.filled < size) return offset
      this.filled = 0
      this.completed++
      if (!this.sink(this.partial, true)) return offset
    }

    while (length - offset >= size) {
      const frame = chunk.subarray(offset, offset + size)
      offset += size
      this.completed++
      if (!this.sink(frame, false)) return offset
    }

    if (offset < length) {
      this.partial.set(chunk.subarray(offset), 0)
      this.filled = length - offset
    }
    return length
  }

  /** Drop any partial frame (used when the link closes). */
  reset (): void {
    this.filled = 0
  }
}
