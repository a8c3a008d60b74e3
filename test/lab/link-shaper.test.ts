/**
 * The lab's userspace link shaper (lab/link-shaper.ts) on loopback: bytes arrive whole and in
 * order under delay, jitter and a rate limit, in both directions; a stalled link passes
 * nothing until released, then everything; a cut resets the connections it carries and those
 * that arrive while it lasts, and a restored link carries new ones. No timing is asserted.
 */
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { startShapedLink, type ShapedLink } from '../../lab/link-shaper.js'

const BODY = randomBytes(512 * 1024 + 7)

interface Teardown {
  teardown (fn: () => unknown): void
}

/** A server that sends BODY to each connection and echoes back what it receives. */
async function startSource (t: Teardown): Promise<number> {
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    socket.write(BODY)
    socket.pipe(socket)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()) }))
  return (server.address() as { port: number }).port
}

async function shaped (t: Teardown, target: number): Promise<ShapedLink> {
  const link = await startShapedLink({ host: '127.0.0.1', port: 0 }, { host: '127.0.0.1', port: target })
  t.teardown(() => link.close())
  return link
}

/** Connect through the link, send `upload`, and collect what comes back until `want` bytes or the end. */
function exchange (port: number, upload: Buffer, want: number): { socket: Socket, received: Promise<{ data: Buffer, error?: string }>, bytes: () => number } {
  const socket = connect({ host: '127.0.0.1', port })
  const chunks: Buffer[] = []
  let length = 0
  const received = new Promise<{ data: Buffer, error?: string }>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk)
      length += chunk.length
      if (length >= want) { socket.destroy(); resolve({ data: Buffer.concat(chunks) }) }
    })
    socket.on('error', (err) => resolve({ data: Buffer.concat(chunks), error: (err as NodeJS.ErrnoException).code ?? err.message }))
    socket.on('close', () => resolve({ data: Buffer.concat(chunks) }))
  })
  socket.write(upload)
  return { socket, received, bytes: () => length }
}

t.test('delay, jitter and a rate limit keep every byte in order, both ways', async (t) => {
  const link = await shaped(t, await startSource(t))
  link.set({ delayMs: 5, jitterMs: 5, rateBps: 20_000_000 })
  const upload = randomBytes(64 * 1024)
  const { received } = exchange(link.port, upload, BODY.length + upload.length)
  const { data, error } = await received
  t.equal(error, undefined, 'no error')
  t.ok(data.subarray(0, BODY.length).equals(BODY), 'the body arrives whole and in order')
  t.ok(data.subarray(BODY.length).equals(upload), 'the upload went through and came back in order')
})

t.test('a stalled link passes nothing until released, then everything', async (t) => {
  const link = await shaped(t, await startSource(t))
  link.set({ stalled: true })
  const { received, bytes } = exchange(link.port, Buffer.alloc(0), BODY.length)
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.equal(bytes(), 0, 'nothing while stalled')
  link.set({ stalled: false })
  const { data } = await received
  t.ok(data.equals(BODY), 'the whole body once released')
})

t.test('a cut resets what the link carries and what arrives, until restored', async (t) => {
  const link = await shaped(t, await startSource(t))
  link.set({ stalled: true })
  const open = exchange(link.port, Buffer.alloc(0), BODY.length)
  await new Promise((resolve) => setTimeout(resolve, 100))
  link.set({ cut: true, stalled: false })
  const cut = await open.received
  t.ok(cut.data.length < BODY.length, 'the open connection ends short')
  t.equal(cut.error, 'ECONNRESET', 'with a reset')
  const refused = await exchange(link.port, Buffer.alloc(0), BODY.length).received
  t.equal(refused.data.length, 0, 'a new connection during the cut gets nothing')
  t.equal(refused.error, 'ECONNRESET', 'and is reset')
  link.set({ cut: false })
  const { data } = await exchange(link.port, Buffer.alloc(0), BODY.length).received
  t.ok(data.equals(BODY), 'a restored link carries new connections')
  t.ok(link.counts().cutConnections >= 2, 'the link counts what it cut')
})
