/**
 * The observer's tap on one client's link: a TCP relay between the client and the entry mix
 * that passes every byte through unchanged and writes down, for each chunk it relays, when it
 * went by and how many bytes it carried — all that a global passive observer of that link
 * learns (batches of Noise ciphertext whose size depends on their cell count alone; timing
 * and volume are the signal).
 *
 * The client's cascade names the relay as hop 1; the link's Noise prologue binds the cascade
 * ID, not the socket, so the handshake runs end to end through the relay untouched.
 *
 * Nothing is parsed: each direction starts with one handshake message of
 * HANDSHAKE_MESSAGE_BYTES, then batches (PROTOCOL.md §8.4); every byte after the handshake
 * message is recorded at the time of the chunk that carried it.
 */
import { connect, createServer } from 'node:net'
import { performance } from 'node:perf_hooks'
import { HANDSHAKE_MESSAGE_BYTES } from '../src/link/index.js'
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
  /** The observer's clock in ms (default performance.now). */
  readonly now?: () => number
}

/** Records the bytes of one direction of one connection, after its handshake message. */
class VolumeRecorder {
  private offset = 0
  constructor (private readonly into: Observation[], private readonly now: () => number, private readonly recording: () => boolean) {}

  push (bytes: number): void {
    const before = this.offset
    this.offset += bytes
    const linkBytes = this.offset - Math.max(before, HANDSHAKE_MESSAGE_BYTES)
    if (linkBytes > 0 && this.recording()) this.into.push({ atMs: this.now(), bytes: linkBytes })
  }
}

export async function startRecordingRelay (options: RecordingRelayOptions): Promise<RecordingRelay> {
  const now = options.now ?? (() => performance.now())
  const up: Observation[] = []
  const down: Observation[] = []
  let recording = true
  const server = createServer({ noDelay: true }, (client) => {
    client.pause()
    const entry = connect({ host: '127.0.0.1', port: options.entryPort, noDelay: true })
    listening.track(entry)
    const upCounter = new VolumeRecorder(up, now, () => recording)
    const downCounter = new VolumeRecorder(down, now, () => recording)
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
