/**
 * SOCKS4 and SOCKS4a on the SOCKS port, front door alone (direct connections stand in for
 * the cascade): the first byte picks the version; curl --socks4a and --socks4 fetch intact
 * bodies; the user ID is the request's isolation key; an IP literal is warned about (refused
 * with safeSocks); bad requests get 0x5B, a typed error, and the close, and others go on.
 */
import t from 'tap'
import { BODY, curl, rawClient, sha256, startFront, startHttpServer, httpGet, splitHttp, GREETING_NO_AUTH, domainRequest, expectedReply } from './harness.js'

const GRANTED = Buffer.from([0, 0x5a, 0, 0, 0, 0, 0, 0])
const REJECTED = Buffer.from([0, 0x5b, 0, 0, 0, 0, 0, 0])

function socks4a (name: string, port: number, user = ''): Buffer {
  return Buffer.concat([Buffer.from([0x04, 0x01, port >>> 8, port & 0xff, 0, 0, 0, 1]), Buffer.from(user), Buffer.from([0]), Buffer.from(name), Buffer.from([0])])
}

t.test('curl --socks4a and --socks4 fetch through the same port as SOCKS5', async (t) => {
  const server = await startHttpServer(t)
  const front = await startFront(t)
  const viaA = await curl(['--socks4a', `127.0.0.1:${front.port}`, `http://localhost:${server.port}/a`])
  t.equal(viaA.exitCode, 0, viaA.stderr)
  t.equal(sha256(viaA.stdout), sha256(BODY), 'SOCKS4a body intact')
  const via4 = await curl(['--socks4', `127.0.0.1:${front.port}`, '-U', 'isolate-me:', `http://127.0.0.1:${server.port}/b`])
  t.equal(via4.exitCode, 0, via4.stderr)
  t.equal(sha256(via4.stdout), sha256(BODY), 'SOCKS4 body intact')
  const via5 = await curl(['--socks5-hostname', `127.0.0.1:${front.port}`, `http://localhost:${server.port}/c`])
  t.equal(via5.exitCode, 0, via5.stderr)
  const [a, four] = front.record.requests
  t.match(a, { host: 'localhost', addressType: 'hostname' })
  t.equal(a!.username, undefined, 'curl sends an empty user ID: no credentials')
  t.match(four, { host: '127.0.0.1', addressType: 'ipv4', username: 'isolate-me', password: '' }, 'the user ID is the username')
  t.same(front.record.warnings, ['SOCKS_UNSAFE_IP_LITERAL'], 'SOCKS4 with an address is warned about, SOCKS4a is not')
  t.same(front.record.errors, [])
})

t.test('raw SOCKS4a: 8-byte grant, early data pipelined with the request arrives first', async (t) => {
  const server = await startHttpServer(t)
  const front = await startFront(t)
  const app = await rawClient(t, front.port)
  app.socket.write(Buffer.concat([socks4a('localhost', server.port, 'bob'), httpGet('/early', server.port)]))
  t.same(await app.read(8), GRANTED)
  const { head, body } = splitHttp(await app.rest())
  t.match(head, /^HTTP\/1\.1 200/)
  t.equal(sha256(body), sha256(BODY))
  t.same(server.requests, ['GET /early'])
  t.equal(front.record.requests[0]!.username, 'bob')
})

t.test('safeSocks refuses SOCKS4 with an address (0x5B), still serves SOCKS4a', async (t) => {
  const server = await startHttpServer(t)
  const front = await startFront(t, { safeSocks: true })
  const four = await curl(['--socks4', `127.0.0.1:${front.port}`, `http://127.0.0.1:${server.port}/`])
  t.not(four.exitCode, 0, 'curl fails')
  t.same(server.requests, [], 'nothing reached the server')
  const fourA = await curl(['--socks4a', `127.0.0.1:${front.port}`, `http://localhost:${server.port}/`])
  t.equal(fourA.exitCode, 0, fourA.stderr)
  t.same(front.record.warnings, ['SOCKS_UNSAFE_IP_LITERAL'])
})

t.test('a failure REP from the handler becomes 0x5B', async (t) => {
  const front = await startFront(t, { onConnect: (_request, pending) => { pending.reject(0x02) } })
  const app = await rawClient(t, front.port)
  app.socket.write(socks4a('example.com', 443))
  t.same(await app.read(8), REJECTED)
  await app.closed()
  t.same(front.front.counters().rejected, { 2: 1 }, 'counted by the REP the handler gave')
})

t.test('bad requests: 0x5B, a typed error, the connection closed; the next app is served', async (t) => {
  const server = await startHttpServer(t)
  const front = await startFront(t)
  const cases: Array<[string, Buffer, string]> = [
    ['BIND', Buffer.from([0x04, 0x02, 0, 80, 1, 2, 3, 4, 0]), 'SOCKS_COMMAND_UNSUPPORTED'],
    ['a user ID that never ends', Buffer.concat([Buffer.from([0x04, 0x01, 0, 80, 1, 2, 3, 4]), Buffer.alloc(300, 0x61)]), 'SOCKS_FIELD_TOO_LONG'],
    ['a SOCKS4a name that never ends', Buffer.concat([Buffer.from([0x04, 0x01, 0, 80, 0, 0, 0, 1, 0]), Buffer.alloc(300, 0x61)]), 'SOCKS_FIELD_TOO_LONG'],
    ['port 0', Buffer.from([0x04, 0x01, 0, 0, 1, 2, 3, 4, 0]), 'SOCKS_BAD_ADDRESS'],
  ]
  for (const [what, bytes, code] of cases) {
    const app = await rawClient(t, front.port)
    app.socket.write(bytes)
    t.same(await app.read(8), REJECTED, what)
    await app.closed()
    t.equal(front.record.errors.at(-1)?.code, code, `${what}: ${code}`)
  }
  const app = await rawClient(t, front.port)
  app.socket.write(GREETING_NO_AUTH)
  t.same(await app.read(2), Buffer.from([0x05, 0x00]))
  app.socket.write(domainRequest('localhost', server.port))
  t.same(await app.read(10), expectedReply(0), 'SOCKS5 still served after the bad SOCKS4 apps')
  t.equal(front.front.counters().pending, 0, 'nothing left waiting')
})

t.test('a version byte that is neither 4 nor 5 is refused as before', async (t) => {
  const front = await startFront(t)
  const app = await rawClient(t, front.port)
  app.socket.write(Buffer.from([0x47, 0x45, 0x54, 0x20]))
  await app.closed()
  t.equal(front.record.errors[0]?.code, 'SOCKS_BAD_VERSION')
})
