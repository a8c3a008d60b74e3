/**
 * The observer's tap on one client's link: a TCP relay between the client and the entry mix
 * that passes every byte through unchanged and writes down, for each link frame, when it went
 * by and how big it was — all that a global passive observer of that link learns (the frames
 * are Noise ciphertext of fixed size; their timing and count are the signal).
 *
 * The client's cascade names the relay as hop 1; the link's Noise prologue binds the cascade
 * ID, not the socket, so the handshake runs end to end through the relay untouched.
 *
 * Frames are counted, not parsed: each direction starts with one handshake message of
 * HANDSHAKE_MESSAGE_BYTES, then frames of cellSize + FRAME_OVERHEAD bytes, back to back.
 * A frame is recorded at the time of the chunk that completed it.
 */
import { connect, createServer } from 'node:net'
import { performance } from 'node:perf_hooks'
import { FRAME_OVERHEAD, HANDSHAKE_MESSAGE_BYTES } from '../src/link/index.js'
import type { Observation } from './correlate.js'
import { listenLoopback, type LoopbackServer } from '../bench/loopback-server.js'

export interface RecordingRelay {
  readonly port: number
  /** Frames client → entry. */
  readonly up: Observation[]
  /** Frames entry → client. */
  readonly down: Observation[]
  /** Stop recording (the relay keeps passing bytes until `close`). */
  stopRecording (): void
  close (): Promise<void>
}

export interface RecordingRelayOptions {
  /** The entry mix's real port on 127.0.0.1. */
  readonly entryPort: number
  readonly cellSize: number
  /** The observer's clock in ms (default performance.now). */
  readonly now?: () => number
}

/** Counts frames in one direction of one connection, handshake first. */
class FrameCounter {
  private offset = 0
  constructor (private readonly frameBytes: number, private readonly into: Observation[], private readonly now: () => number, private readonly recording: () => boolean) {}

  push (bytes: number): void {
    const before = this.offset
    this.offset += bytes
    const framesBefore = Math.max(0, Math.floor((before - HANDSHAKE_MESSAGE_BYTES) / this.frameBytes))
    const framesAfter = Math.max(0, Math.floor((this.offset - HANDSHAKE_MESSAGE_BYTES) / this.frameBytes))
    if (framesAfter > framesBefore && this.recording()) {
      const atMs = this.now()
      for (let i = framesBefore; i < framesAfter; i++) this.into.push({ atMs, bytes: this.frameBytes })
    }
  }
}

export async function startRecordingRelay (options: RecordingRelayOptions): Promise<RecordingRelay> {
  const now = options.now ?? (() => performance.now())
  const frameBytes = options.cellSize + FRAME_OVERHEAD
  const up: Observation[] = []
  const down: Observation[] = []
  let recording = true
  const server = createServer({ noDelay: true }, (client) => {
    client.pause()
    const entry = connect({ host: '127.0.0.1', port: options.entryPort, noDelay: true })
    listening.track(entry)
    const upCounter = new FrameCounter(frameBytes, up, now, () => recording)
    const downCounter = new FrameCounter(frameBytes, down, now, () => recording)
    client.on('data', (chunk: Buffer) => upCounter.push(chunk.length))
    entry.on('data', (chunk: Buffer) => downCounter.push(chunk.length))
    client.on('error', () => entry.destroy())
    entry.on('error', () => client.destroy())
    client.on('close', () => entry.destroy())
    entry.on('close', () => client.destroy())
    entry.once('connect', () => {
      client.pipe(entry)
      entry.pipe(client)
      client.resume()
    })
  })
  // Connections arrive only once it listens, so the handler always finds it set.
  const listening: LoopbackServer = await listenLoopback(server)
  return {
    port: listening.port,
    up,
    down,
    stopRecording () { recording = false },
    async close () {
      recording = false
      await listening.close()
    },
  }
}
