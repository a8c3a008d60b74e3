/**
 * Optimistic data end to end: an app that does not wait for the SOCKS reply (greeting,
 * CONNECT and its first request bytes in one write, as Tor Browser does) gets its answer;
 * the request reaches the server — what fits rides in the BEGIN, the rest follows CONNECTED.
 */
import t from 'tap'
import { cryptoReady } from '../../src/crypto/index.js'
import { startCascade } from '../helpers/cascade.js'
import { rawConnect } from '../helpers/raw-socks.js'
import { patternBytes, sha256, startHttpTarget, startTcpTarget } from '../helpers/targets.js'

await cryptoReady()

const http = await startHttpTarget(t)
const cascade = await startCascade()
t.teardown(() => cascade.stop())
const socksPort = cascade.socksPort

/** Split an HTTP/1.0 response (the server closes after it) into status line and body. */
function parseResponse (bytes: Buffer): { status: string, body: Buffer } {
  const end = bytes.indexOf('\r\n\r\n')
  return { status: bytes.subarray(0, bytes.indexOf('\r\n')).toString(), body: bytes.subarray(end + 4) }
}

t.test('greeting + CONNECT + HTTP request in ONE write: the response arrives', async (t) => {
  const request = Buffer.from(`GET /optimistic-1 HTTP/1.0\r\nHost: localhost:${http.port}\r\n\r\n`)
  const { socket, reader, method, rep } = await rawConnect({ socksPort, host: 'localhost', port: http.port, early: request, pipelined: true })
  t.teardown(() => socket.destroy())
  t.same(method, Buffer.from([0x05, 0x00]), 'no-auth selected')
  t.equal(rep, 0x00, 'CONNECT succeeded')
  const response = parseResponse(await reader.readToEnd())
  t.match(response.status, /^HTTP\/1\.[01] 200/)
  t.equal(response.body.toString(), 'hello /optimistic-1\n')
  t.ok(http.requests.some((r) => r.url === '/optimistic-1'), 'the server received the request')
})

t.test('greeting, then CONNECT + request together without waiting for the reply', async (t) => {
  const request = Buffer.from(`GET /optimistic-2 HTTP/1.0\r\nHost: 127.0.0.1:${http.port}\r\n\r\n`)
  const { socket, reader, rep } = await rawConnect({ socksPort, host: '127.0.0.1', port: http.port, early: request })
  t.teardown(() => socket.destroy())
  t.equal(rep, 0x00)
  t.equal(parseResponse(await reader.readToEnd()).body.toString(), 'hello /optimistic-2\n')
  t.ok(http.requests.some((r) => r.url === '/optimistic-2'), 'the server received the request')
})

t.test('early data larger than a BEGIN can hold: the rest follows CONNECTED, in order', async (t) => {
  // The server answers the SHA-256 of exactly `size` bytes once it has them all.
  const size = 50_000
  const seen: Buffer[] = []
  const raw = await startTcpTarget(t, (s) => {
    let got = 0
    s.on('data', (chunk: Buffer) => {
      seen.push(chunk)
      got += chunk.length
      if (got >= size) s.end(sha256(Buffer.concat(seen).subarray(0, size)))
    })
  })
  const upload = patternBytes(size, 99)
  const before = cascade.exit.node.exitStats.streamsOpened
  const { socket, reader, rep } = await rawConnect({ socksPort, host: '127.0.0.1', port: raw.port, early: upload, pipelined: true })
  t.teardown(() => socket.destroy())
  t.equal(rep, 0x00)
  t.equal((await reader.readToEnd()).toString(), sha256(upload), 'every early byte arrived, in order')
  t.equal(cascade.exit.node.exitStats.streamsOpened - before, 1, 'one stream at the exit')
})

t.test('optimistic data to a refused destination never reaches anyone: REP 0x02', async (t) => {
  const before = http.requests.length
  const request = Buffer.from('GET /must-not-arrive HTTP/1.0\r\n\r\n')
  const { socket, rep } = await rawConnect({ socksPort, host: '127.0.0.3', port: http.port, early: request, pipelined: true })
  socket.destroy()
  t.equal(rep, 0x02)
  t.equal(http.requests.length, before)
})
