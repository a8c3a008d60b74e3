/**
 * Flow: backpressure (send() returns false while the peer does not read, 'drain' after it
 * resumes, nothing lost), batches that follow the handshake in the same TCP segment, and the
 * deadline on a started batch.
 */
import t from 'tap'
import { once } from 'node:events'
import { createServer, type AddressInfo, type Socket } from 'node:net'
import { cryptoReady, x25519KeyPair } from '../../src/crypto/index.js'
import { HANDSHAKE_MESSAGE_BYTES } from '../../src/link/index.js'
import { HandshakeState } from '../../src/link/noise/handshake.js'
import { rawBatch } from './raw-batch.js'
import { CELL, PROLOGUE, cell, cellNumber, closeReason, collect, dial, listen, peers, rawConnect, rawInitiator, readExactly } from './loopback.js'

await cryptoReady()

const EMPTY = new Uint8Array(0)

t.test('backpressure: send() returns false while the peer is paused; drain fires after resume; all arrive in order', async (t) => {
  const p = peers('KK')
  const { links, listener } = await listen(t, p)
  const client = await dial(t, p, listener.address().port)
  const server = await links.next()
  const received: number[] = []
  server.on('cell', (c) => received.push(cellNumber(c)))
  server.pause()

  const batch = 64 // 64 × 272 bytes ≈ 17 KiB per write
  let sent = 0
  let accepted = true
  while (accepted && sent < 200_000) {
    accepted = client.send(Array.from({ length: batch }, (_, i) => cell(sent + i)))
    sent += batch
  }
  t.equal(accepted, false, 'send() reported backpressure')
  t.ok(client.writeBacklog > 0, 'bytes are queued')

  const drained = once(client, 'drain')
  server.resume()
  await drained
  t.pass('drain fired after the peer resumed')
  await new Promise<void>((resolve) => {
    if (received.length === sent) { resolve(); return }
    server.on('cell', () => { if (received.length === sent) resolve() })
  })
  t.equal(received.length, sent)
  t.ok(received.every((n, i) => n === i), 'every cell, in order')
})

t.test('pause() inside a cell handler stops delivery at once; resume() continues in order', async (t) => {
  const p = peers('NK')
  const { links, listener } = await listen(t, p)
  const client = await dial(t, p, listener.address().port)
  const server = await links.next()
  const seen: number[] = []
  const firstFive = new Promise<void>((resolve) => {
    server.on('cell', (c) => {
      seen.push(cellNumber(c))
      if (seen.length === 5) { server.pause(); resolve() }
    })
  })
  client.send(Array.from({ length: 20 }, (_, i) => cell(i)))
  await firstFive
  await new Promise(resolve => setImmediate(resolve))
  t.same(seen, [0, 1, 2, 3, 4], 'nothing delivered while paused')
  const rest = new Promise<void>((resolve) => server.on('cell', () => { if (seen.length === 20) resolve() }))
  server.resume()
  await rest
  t.same(seen, Array.from({ length: 20 }, (_, i) => i))
})

t.test('batches in the same segment as handshake message 2 reach the dialer', async (t) => {
  // A hand-made responder writes message 2 and three sealed batches in one write.
  const serverStatic = x25519KeyPair()
  const sockets: Socket[] = []
  const server = createServer((socket) => {
    sockets.push(socket)
    const hs = new HandshakeState({ pattern: 'NK', initiator: false, prologue: PROLOGUE, s: serverStatic })
    readExactly(socket, HANDSHAKE_MESSAGE_BYTES).then((msg1) => {
      hs.readMessage(msg1)
      const msg2 = hs.writeMessage(EMPTY)
      const { send } = hs.transport()
      const frames = [1, 2, 3].map(n => rawBatch(send, [cell(n)]))
      socket.write(Buffer.concat([msg2, ...frames]))
    }, () => {})
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => { for (const s of sockets) s.destroy(); server.close() })
  const p = { pattern: 'NK' as const, server: serverStatic, client: x25519KeyPair() }
  const client = await dial(t, p, (server.address() as AddressInfo).port)
  t.same((await collect(client, 3)).map(cellNumber), [1, 2, 3])
})

t.test('a batch started but not finished within frameTimeoutMs closes the link', async (t) => {
  const p = peers('NK')
  const { links, listener } = await listen(t, p, { frameTimeoutMs: 200 })
  const socket = await rawConnect(t, listener.address().port)
  const hs = rawInitiator(p)
  socket.write(hs.writeMessage(EMPTY))
  hs.readMessage(await readExactly(socket, HANDSHAKE_MESSAGE_BYTES))
  const { send } = hs.transport()
  const server = await links.next()
  const reason = closeReason(server)
  const got: number[] = []
  server.on('cell', (c) => got.push(cellNumber(c)))
  const one = rawBatch(send, [cell(1)])
  const two = rawBatch(send, [cell(2)])
  socket.write(Buffer.concat([one, two.subarray(0, CELL / 2)]))
  t.equal((await reason)?.code, 'LINK_FRAME_TIMEOUT')
  t.same(got, [1], 'the whole batch was delivered first')
})

t.test('a slow but steady batch is not cut off', async (t) => {
  const p = peers('NK')
  const { links, listener } = await listen(t, p, { frameTimeoutMs: 400 })
  const socket = await rawConnect(t, listener.address().port)
  const hs = rawInitiator(p)
  socket.write(hs.writeMessage(EMPTY))
  hs.readMessage(await readExactly(socket, HANDSHAKE_MESSAGE_BYTES))
  const { send } = hs.transport()
  const server = await links.next()
  const arriving = collect(server, 2)
  const frame = rawBatch(send, [cell(7)])
  socket.write(frame.subarray(0, 10))
  await new Promise(resolve => setTimeout(resolve, 50))
  socket.write(frame.subarray(10))
  socket.write(rawBatch(send, [cell(8)]))
  t.same((await arriving).map(cellNumber), [7, 8])
  t.notOk(server.closed)
})

t.test('the deadline is per batch: a busy stream of straddling batches is never cut off', async (t) => {
  const p = peers('NK')
  const { links, listener } = await listen(t, p, { frameTimeoutMs: 400 })
  const socket = await rawConnect(t, listener.address().port)
  const hs = rawInitiator(p)
  socket.write(hs.writeMessage(EMPTY))
  hs.readMessage(await readExactly(socket, HANDSHAKE_MESSAGE_BYTES))
  const { send } = hs.transport()
  const server = await links.next()
  const steps = 12 // 12 × 50 ms: always a partial batch pending, for longer than the deadline
  const arriving = collect(server, steps)
  let previousTail: Uint8Array = new Uint8Array(0)
  for (let i = 0; i < steps; i++) {
    const frame = rawBatch(send, [cell(i)])
    const half = frame.length >> 1
    socket.write(Buffer.concat([previousTail, frame.subarray(0, half)]))
    previousTail = frame.subarray(half)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  socket.write(previousTail)
  t.same((await arriving).map(cellNumber), Array.from({ length: steps }, (_, i) => i))
  t.notOk(server.closed)
})

t.test('a connection reset by the peer closes the link with LINK_SOCKET_ERROR', async (t) => {
  const p = peers('NK')
  const { links, listener } = await listen(t, p)
  const socket = await rawConnect(t, listener.address().port)
  const hs = rawInitiator(p)
  socket.write(hs.writeMessage(EMPTY))
  hs.readMessage(await readExactly(socket, HANDSHAKE_MESSAGE_BYTES))
  const server = await links.next()
  const reason = closeReason(server)
  server.on('cell', () => {})
  await new Promise(resolve => setImmediate(resolve))
  socket.resetAndDestroy()
  t.equal((await reason)?.code, 'LINK_SOCKET_ERROR')
})
