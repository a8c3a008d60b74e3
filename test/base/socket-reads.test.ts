/**
 * Socket reads into one buffer a thread (src/base/socket-reads.ts): what a dialled socket
 * reads arrives as transient views of one buffer, shared by every such socket; an accepted
 * socket's reads are Node's own chunks; reads while no handler listens are kept, copied, for
 * the next one.
 */
import t, { type Test } from 'tap'
import { createServer, type Server, type Socket } from 'node:net'
import { once } from 'node:events'
import { connectWithSharedReads, hasSharedReads, onChunks, SHARED_READ_BYTES } from '../../src/base/socket-reads.js'

/** A loopback server that sends each connection `payload` and ends it. */
async function sending (t: Test, payload: (n: number) => Uint8Array): Promise<{ server: Server, port: number, accepted: Socket[] }> {
  const accepted: Socket[] = []
  const server = createServer((socket) => {
    accepted.push(socket)
    socket.on('error', () => {})
    socket.end(payload(accepted.length))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => { for (const s of accepted) s.destroy(); server.close() })
  const address = server.address()
  return { server, port: typeof address === 'object' && address !== null ? address.port : 0, accepted }
}

function patterned (bytes: number, seed: number): Uint8Array {
  const out = new Uint8Array(bytes)
  for (let i = 0; i < bytes; i++) out[i] = (i * 7 + seed) & 0xff
  return out
}

/** Everything a socket reads until its end, copied as it comes, and what the chunks were. */
async function readAll (socket: Socket): Promise<{ bytes: Buffer, transient: boolean[], buffers: Set<ArrayBufferLike>, plain: boolean }> {
  const parts: Buffer[] = []
  const transient: boolean[] = []
  const buffers = new Set<ArrayBufferLike>()
  let plain = true
  onChunks(socket, (chunk, isTransient) => {
    parts.push(Buffer.from(chunk)) // a copy
    transient.push(isTransient)
    buffers.add(chunk.buffer)
    if (Buffer.isBuffer(chunk)) plain = false
  })
  socket.resume()
  await once(socket, 'end')
  return { bytes: Buffer.concat(parts), transient, buffers, plain }
}

t.test('two dialled sockets read into one buffer, as transient plain views, every byte in order', async (t) => {
  const size = 3 * SHARED_READ_BYTES + 123
  const { port } = await sending(t, (n) => patterned(size, n))
  const a = connectWithSharedReads({ host: '127.0.0.1', port })
  const b = connectWithSharedReads({ host: '127.0.0.1', port })
  t.teardown(() => { a.destroy(); b.destroy() })
  t.ok(hasSharedReads(a) && hasSharedReads(b))
  const [readA, readB] = await Promise.all([readAll(a), readAll(b)])
  const expected = [patterned(size, 1), patterned(size, 2)]
  // The server numbers connections in the order it accepts them, which need not be a, b.
  const matches = (got: Buffer): boolean => expected.some((e) => got.equals(e))
  t.ok(matches(readA.bytes) && matches(readB.bytes) && !readA.bytes.equals(readB.bytes), 'each socket got its own bytes, whole')
  t.ok(readA.transient.every(Boolean) && readB.transient.every(Boolean), 'every chunk transient')
  t.equal(new Set([...readA.buffers, ...readB.buffers]).size, 1, 'one buffer for every read of both')
  t.ok(readA.plain && readB.plain, 'plain Uint8Arrays, whose slice() copies')
})

t.test('an accepted socket reads as Node does: fresh chunks, not transient', async (t) => {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  const client = connectWithSharedReads({ host: '127.0.0.1', port })
  const [accepted] = await once(server, 'connection') as [Socket]
  t.teardown(() => { client.destroy(); accepted.destroy(); server.close() })
  t.notOk(hasSharedReads(accepted))
  const reading = readAll(accepted)
  client.end(patterned(100_000, 3))
  const read = await reading
  t.same(new Uint8Array(read.bytes), patterned(100_000, 3))
  t.ok(read.transient.every((x) => !x), 'no chunk transient')
})

t.test('reads while no handler listens are kept, copied, and handed to the next', async (t) => {
  const { port } = await sending(t, () => patterned(5000, 9))
  const socket = connectWithSharedReads({ host: '127.0.0.1', port })
  t.teardown(() => socket.destroy())
  const stop = onChunks(socket, () => { t.fail('the first handler was stopped before any read') })
  stop()
  await once(socket, 'end') // everything has been read meanwhile, with no handler
  const got: Array<{ bytes: Buffer, transient: boolean }> = []
  onChunks(socket, (chunk, transient) => { got.push({ bytes: Buffer.from(chunk), transient }) })
  t.same(new Uint8Array(Buffer.concat(got.map((g) => g.bytes))), patterned(5000, 9), 'every byte, in order')
  t.ok(got.length > 0 && got.every((g) => !g.transient), 'handed on as chunks of their own')
})
