/**
 * Bounded memory with a slow reader (DESIGN "Flow control"): a host sends a large body to an
 * app that reads nothing for a while. The stream and circuit windows must stop the sender:
 * the exit and the client each hold about one window (≈1 MB), not the body, and the host
 * itself is held back by TCP. When the app reads again, the body completes intact.
 * And the reverse: an app uploading to a host that does not read.
 */
import t from 'tap'
import type { Socket } from 'node:net'
import { createHash } from 'node:crypto'
import { cryptoReady } from '../../src/crypto/index.js'
import { startCascade } from '../helpers/cascade.js'
import { rawConnect } from '../helpers/raw-socks.js'
import { patternBytes, sha256, startTcpTarget } from '../helpers/targets.js'

await cryptoReady()

const MiB = 1024 * 1024
const BODY_BYTES = 32 * MiB
/** Far below the body: about one stream window (500 cells ≈ 1 MB) plus socket buffers. */
const BOUND = 4 * MiB

const body = patternBytes(BODY_BYTES, 42)
const cascade = await startCascade()
t.teardown(() => cascade.stop())

/** Write `data` respecting backpressure; `progress` counts what the socket accepted. */
function writeAll (socket: Socket, data: Buffer, progress: { sent: number }, done: () => void): void {
  const chunk = 64 * 1024
  const next = (): void => {
    while (progress.sent < data.length) {
      const piece = data.subarray(progress.sent, progress.sent + chunk)
      progress.sent += piece.length
      if (!socket.write(piece)) { socket.once('drain', next); return }
    }
    done()
  }
  next()
}

/** Resolves once `value()` has not changed for `polls` polls in a row (it has stalled). */
async function stalled (value: () => number, polls = 10, everyMs = 50, maxMs = 15_000): Promise<number> {
  const deadline = Date.now() + maxMs
  let last = value()
  let same = 0
  while (same < polls && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, everyMs))
    const now = value()
    same = now === last ? same + 1 : 0
    last = now
  }
  return last
}

t.test('a paused app: the host is stopped, exit and client stay bounded; then the body completes', async (t) => {
  const progress = { sent: 0 }
  const target = await startTcpTarget(t, (socket) => writeAll(socket, body, progress, () => socket.end()))
  const { socket, reader, rep } = await rawConnect({ socksPort: cascade.socksPort, host: '127.0.0.1', port: target.port })
  t.teardown(() => socket.destroy())
  t.equal(rep, 0)
  const hash = createHash('sha256')
  let received = 0
  // Take over from the reader, and read nothing for now.
  socket.pause()
  const early = reader.detach()
  hash.update(early)
  received += early.length

  const sentWhenStalled = await stalled(() => progress.sent)
  const exitBuffered = cascade.exit.node.bufferedBytes
  const clientBuffered = cascade.client.node.bufferedBytes
  t.ok(sentWhenStalled < BODY_BYTES / 2, `the host was held back: ${(sentWhenStalled / MiB).toFixed(1)} MiB of ${BODY_BYTES / MiB} written`)
  t.ok(exitBuffered < BOUND, `the exit holds ${(exitBuffered / 1024).toFixed(0)} KiB for the stream`)
  t.ok(clientBuffered < BOUND, `the client holds ${(clientBuffered / 1024).toFixed(0)} KiB for the stream`)
  t.ok(cascade.exit.node.exitStats.violations === 0 && cascade.client.node.stats.integrityFailures === 0, 'no window was overrun')

  // Read again: everything arrives, in order.
  await new Promise<void>((resolve) => {
    socket.on('data', (chunk: Buffer) => { hash.update(chunk); received += chunk.length })
    socket.on('end', resolve)
    socket.resume()
  })
  t.equal(received, BODY_BYTES)
  t.equal(hash.digest('hex'), sha256(body), 'the body is intact')
})

t.test('a host that does not read: the app is stopped, exit and client stay bounded; then the upload completes', async (t) => {
  let hostSocket: Socket | undefined
  const target = await startTcpTarget(t, (socket) => { hostSocket = socket; socket.pause() })
  const { socket, rep } = await rawConnect({ socksPort: cascade.socksPort, host: '127.0.0.1', port: target.port })
  t.teardown(() => socket.destroy())
  t.equal(rep, 0)
  const progress = { sent: 0 }
  let uploaded = false
  writeAll(socket, body, progress, () => { uploaded = true; socket.end() })
  const sentWhenStalled = await stalled(() => progress.sent)
  t.notOk(uploaded, 'the app could not push the whole upload')
  t.ok(sentWhenStalled < BODY_BYTES / 2, `the app was held back: ${(sentWhenStalled / MiB).toFixed(1)} MiB of ${BODY_BYTES / MiB} written`)
  t.ok(cascade.exit.node.bufferedBytes < BOUND, `the exit holds ${(cascade.exit.node.bufferedBytes / 1024).toFixed(0)} KiB`)
  t.ok(cascade.client.node.bufferedBytes < BOUND, `the client holds ${(cascade.client.node.bufferedBytes / 1024).toFixed(0)} KiB`)

  const hash = createHash('sha256')
  let received = 0
  await new Promise<void>((resolve) => {
    hostSocket!.on('data', (chunk: Buffer) => { hash.update(chunk); received += chunk.length })
    hostSocket!.on('end', resolve)
    hostSocket!.resume()
  })
  t.equal(received, BODY_BYTES)
  t.equal(hash.digest('hex'), sha256(body), 'the upload is intact')
})
