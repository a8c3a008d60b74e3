/**
 * Half-close end to end: a FIN on either side travels through the cascade (FINISH) without
 * closing the other direction, so request/response protocols that signal "done" by
 * shutting down their write side (netcat-style uploads, rsh, some RPC) work through it.
 */
import t, { type Test } from 'tap'
import type { Socket } from 'node:net'
import { cryptoReady } from '../../src/crypto/index.js'
import { startCascade, waitFor } from '../helpers/cascade.js'
import { rawConnect, SocketReader } from '../helpers/raw-socks.js'
import { patternBytes, sha256, startTcpTarget } from '../helpers/targets.js'

await cryptoReady()

const cascade = await startCascade()
t.teardown(() => cascade.stop())
const { socksPort } = cascade

/** A server that reads to EOF, then answers with the SHA-256 of what it read and `extra` bytes. */
async function readThenReply (t: Test, extra: Buffer): Promise<{ port: number, received: Promise<Buffer> }> {
  let deliver: (b: Buffer) => void = () => {}
  const received = new Promise<Buffer>((resolve) => { deliver = resolve })
  const target = await startTcpTarget(t, (socket: Socket) => {
    const reader = new SocketReader(socket)
    void reader.readToEnd().then((bytes) => {
      deliver(bytes)
      socket.write(sha256(bytes))
      socket.end(extra)
    })
  })
  return { port: target.port, received }
}

t.test('the app sends, then shuts down its write side: it still gets the whole reply', async (t) => {
  const upload = patternBytes(300_000, 1)
  const answer = patternBytes(400_000, 2)
  const server = await readThenReply(t, answer)
  const { socket, reader, rep } = await rawConnect({ socksPort, host: '127.0.0.1', port: server.port })
  t.teardown(() => socket.destroy())
  t.equal(rep, 0)
  socket.end(upload)
  const reply = await reader.readToEnd()
  t.equal(sha256(await server.received), sha256(upload), 'the server read the whole upload, then EOF')
  t.equal(reply.subarray(0, 64).toString(), sha256(upload))
  t.equal(sha256(reply.subarray(64)), sha256(answer), 'the whole reply arrived after the app\'s FIN')
})

t.test('data and FIN sent with the CONNECT, before any reply: the server sees both', async (t) => {
  const upload = patternBytes(20_000, 3)
  const server = await readThenReply(t, Buffer.from('bye'))
  const { socket, reader, rep } = await rawConnect({ socksPort, host: '127.0.0.1', port: server.port, early: upload, pipelined: true, endAfterEarly: true })
  t.teardown(() => socket.destroy())
  t.equal(rep, 0)
  const reply = await reader.readToEnd()
  t.equal(sha256(await server.received), sha256(upload), 'the server got the early data, then EOF')
  t.equal(reply.toString(), sha256(upload) + 'bye')
})

t.test('the server sends, then shuts down its write side: the app can still answer', async (t) => {
  const greeting = patternBytes(300_000, 4)
  const answer = patternBytes(250_000, 5)
  let deliver: (b: Buffer) => void = () => {}
  const received = new Promise<Buffer>((resolve) => { deliver = resolve })
  const target = await startTcpTarget(t, (socket: Socket) => {
    const reader = new SocketReader(socket)
    socket.end(greeting) // FIN after the greeting; keep reading
    void reader.readToEnd().then(deliver)
  })
  const { socket, reader, rep } = await rawConnect({ socksPort, host: '127.0.0.1', port: target.port })
  t.teardown(() => socket.destroy())
  t.equal(rep, 0)
  const got = await reader.readToEnd()
  t.equal(sha256(got), sha256(greeting), 'the app read the whole greeting, then EOF')
  t.notOk(socket.destroyed, 'the app\'s socket is still open for writing')
  socket.end(answer)
  t.equal(sha256(await received), sha256(answer), 'the server received the app\'s answer after its own FIN')
})

t.test('every stream closed cleanly: nothing left at the exit', async (t) => {
  await waitFor(() => cascade.exit.node.exitStats.streamsActive === 0, 'the exit to close its streams', 5000)
  t.equal(cascade.exit.node.exitStats.streamsActive, 0)
  t.equal(cascade.exit.node.exitStats.violations, 0)
})
