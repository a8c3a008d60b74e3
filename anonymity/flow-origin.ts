/**
 * One client's destination: a TCP server on 127.0.0.1 that records every connection the exit
 * opens to it — the exit's TCP flows, as an observer of the exit's side sees them: when each
 * chunk went by and how big it was, in each direction.
 *
 * Each client of the lab talks only to its own origin, so the origin a flow arrived at is the
 * ground truth of who opened it. The harness alone knows that mapping; the attack sees only
 * the flows' timings and sizes.
 *
 * It speaks just enough HTTP/1.1 for undici: `GET /bytes/<n>` answers n bytes (keep-alive
 * unless the request says `connection: close`). A connection that does not start with "GET "
 * is a chat: every chunk is echoed back. Bytes toward the exit are written in small pieces,
 * each recorded when the kernel took it (its write callback), so a large body is recorded as
 * it really leaves under the exit's flow control, not all at the moment of the first write.
 */
import { createServer } from 'node:net'
import { performance } from 'node:perf_hooks'
import type { Observation } from './correlate.js'
import { listenLoopback } from '../bench/loopback-server.js'

export interface RecordedFlow {
  /** The origin (client) this flow belongs to: the ground truth. */
  readonly client: number
  readonly startMs: number
  /** Bytes from the exit (requests, chat messages). */
  readonly up: Observation[]
  /** Bytes to the exit (responses, echoes). */
  readonly down: Observation[]
}

export interface FlowOrigin {
  readonly port: number
  readonly flows: RecordedFlow[]
  /** Stop recording new flows and bytes (connections keep working until `close`). */
  stopRecording (): void
  close (): Promise<void>
}

const WRITE_PIECE = 8 * 1024
const MAX_BODY = 64 * 2 ** 20
const REQUEST_LINE = /^GET \/bytes\/([0-9]{1,9}) HTTP\/1\.[01]\r\n/
const CLOSE_HEADER = /\r\nconnection:\s*close\r\n/i

export async function startFlowOrigin (client: number, body: Buffer, now: () => number = () => performance.now()): Promise<FlowOrigin> {
  const flows: RecordedFlow[] = []
  let recording = true

  const server = createServer({ noDelay: true }, (socket) => {
    socket.on('error', () => socket.destroy())
    const flow: RecordedFlow = { client, startMs: now(), up: [], down: [] }
    if (recording) flows.push(flow)
    const record = (into: Observation[], bytes: number): void => { if (recording) into.push({ atMs: now(), bytes }) }

    // Paced writes: one piece in flight; the next goes when the kernel took the last one.
    const queue: Buffer[] = []
    let writing = false
    let endAfter = false
    const pump = (): void => {
      if (writing || socket.destroyed) return
      const next = queue.shift()
      if (next === undefined) {
        if (endAfter) socket.end()
        return
      }
      writing = true
      socket.write(next, (err) => {
        writing = false
        if (err !== undefined && err !== null) return
        record(flow.down, next.length)
        pump()
      })
    }
    const send = (bytes: Buffer): void => {
      for (let at = 0; at < bytes.length; at += WRITE_PIECE) queue.push(bytes.subarray(at, at + WRITE_PIECE))
      pump()
    }

    let mode: 'unknown' | 'http' | 'chat' = 'unknown'
    let pending: Buffer = Buffer.alloc(0)
    socket.on('data', (chunk: Buffer) => {
      record(flow.up, chunk.length)
      if (mode === 'chat') { send(chunk); return }
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
      if (mode === 'unknown') {
        if (pending.length < 4) return
        mode = pending.subarray(0, 4).toString('latin1') === 'GET ' ? 'http' : 'chat'
        if (mode === 'chat') { send(pending); pending = Buffer.alloc(0); return }
      }
      for (;;) {
        const end = pending.indexOf('\r\n\r\n')
        if (end < 0) return
        const head = pending.subarray(0, end + 4).toString('latin1')
        pending = pending.subarray(end + 4)
        const match = REQUEST_LINE.exec(head)
        const close = CLOSE_HEADER.test(head)
        if (match === null || Number(match[1]) > MAX_BODY) {
          send(Buffer.from('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n'))
          endAfter = true
          pump()
          return
        }
        const n = Number(match[1])
        send(Buffer.from(`HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: ${n}\r\n${close ? 'connection: close\r\n' : ''}\r\n`))
        for (let at = 0; at < n; at += body.length) send(body.subarray(0, Math.min(body.length, n - at)))
        if (close) { endAfter = true; pump(); return }
      }
    })
  })
  const listening = await listenLoopback(server)
  return {
    port: listening.port,
    flows,
    stopRecording () { recording = false },
    async close () {
      recording = false
      await listening.close()
    },
  }
}
