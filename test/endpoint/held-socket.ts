/**
 * Test helper: a stand-in for the socket a StreamPipe writes to, whose writes complete only
 * when the test says so. After `hold()` writes wait (a reader that stopped): once the
 * high-water mark is passed, write() reports backpressure as a socket's does; `release()`
 * completes them, and Node emits 'drain'. Only Node's Duplex, nothing of ours.
 */
import { Duplex } from 'node:stream'
import type { Socket } from 'node:net'

export class HeldSocket extends Duplex {
  /** Every chunk written, in order. */
  readonly written: Buffer[] = []
  private holding = false
  private readonly waiting: Array<() => void> = []

  /** `highWaterMark` 1: every write reports backpressure, and is taken a tick later unless held. */
  constructor (highWaterMark = 16384) {
    super({ writableHighWaterMark: highWaterMark, allowHalfOpen: true })
  }

  /** From now on writes wait (the reader stopped). */
  hold (): void { this.holding = true }

  /** Complete every waiting write and take later ones at once. */
  release (): void {
    this.holding = false
    for (const done of this.waiting.splice(0)) done()
  }

  setNoDelay (): this { return this }

  override _write (chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.written.push(chunk)
    if (this.holding) this.waiting.push(() => done())
    else done()
  }

  override _read (): void {}

  asSocket (): Socket { return this as unknown as Socket }
}
