/**
 * The HTTP CONNECT door alone (direct connections stand in for the cascade, as in the SOCKS
 * front's tests): curl --proxytunnel and undici's ProxyAgent fetch intact bodies; the answer
 * waits for the handler; Basic credentials arrive as the request's username and password;
 * REP codes become statuses; bad heads get their status, a typed error, the close, and the
 * next app is served.
 */
import t, { type Test } from 'tap'
import { connect, type Socket } from 'node:net'
import { ProxyAgent, fetch } from 'undici'
import { HttpFront } from '../../../src/client/http/index.js'
import type { HttpFrontError } from '../../../src/client/http/index.js'
import type { ConnectRequest, PendingConnect } from '../../../src/client/socks/index.js'
import { BODY, RawClient, curl, directConnect, httpGet, sha256, splitHttp, startHttpServer, type StartedFront } from '../socks/harness.js'

interface Door {
  readonly port: number
  readonly front: HttpFront
  readonly requests: ConnectRequest[]
  readonly errors: HttpFrontError[]
}

async function startDoor (t: Test, onConnect?: (request: ConnectRequest, pending: PendingConnect) => void): Promise<Door> {
  const requests: ConnectRequest[] = []
  const errors: HttpFrontError[] = []
  const owned = new Set<Socket>()
  const front = new HttpFront({
    host: '127.0.0.1',
    port: 0,
    lingerMs: 500,
    onConnect: (request, pending) => {
      requests.push(request)
      owned.add(pending.socket)
      if (onConnect !== undefined) { onConnect(request, pending); return }
      directConnect(request, pending, { owned } as unknown as StartedFront)
    },
    onError: (err) => { errors.push(err) },
  })
  const { port } = await front.listen()
  t.teardown(async () => {
    await front.close()
    for (const socket of owned) socket.destroy()
  })
  return { port, front, requests, errors }
}

async function raw (t: Test, port: number): Promise<RawClient> {
  const socket = connect({ host: '127.0.0.1', port })
  t.teardown(() => { socket.destroy() })
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  return new RawClient(socket)
}

t.test('curl --proxytunnel -x http://… fetches an intact body; credentials arrive as username/password', async (t) => {
  const server = await startHttpServer(t)
  const door = await startDoor(t)
  const result = await curl(['--proxytunnel', '-x', `http://127.0.0.1:${door.port}`, '--proxy-user', 'alice:wonder', `http://localhost:${server.port}/a`])
  t.equal(result.exitCode, 0, result.stderr)
  t.equal(sha256(result.stdout), sha256(BODY))
  t.match(door.requests[0], { host: 'localhost', port: server.port, addressType: 'hostname', username: 'alice', password: 'wonder' })
  t.same(door.errors, [])
})

t.test('undici ProxyAgent: fetches through the door, several at once', async (t) => {
  const server = await startHttpServer(t)
  const door = await startDoor(t)
  const agent = new ProxyAgent({ uri: `http://127.0.0.1:${door.port}`, proxyTunnel: true })
  t.teardown(() => agent.close())
  const bodies = await Promise.all([1, 2, 3].map(async (i) => {
    const response = await fetch(`http://localhost:${server.port}/u${i}`, { dispatcher: agent })
    t.equal(response.status, 200)
    return Buffer.from(await response.arrayBuffer())
  }))
  for (const body of bodies) t.equal(sha256(body), sha256(BODY))
  t.ok(door.requests.length >= 1)
})

t.test('raw: 200 only when the handler accepts; early data pipelined after the head arrives first', async (t) => {
  const server = await startHttpServer(t)
  let release: (() => void) | undefined
  const door = await startDoor(t, (request, pending) => {
    release = () => directConnect(request, pending, { owned: new Set() } as unknown as StartedFront)
  })
  const app = await raw(t, door.port)
  app.socket.write(Buffer.concat([Buffer.from(`CONNECT localhost:${server.port} HTTP/1.1\r\nHost: x\r\n\r\n`), httpGet('/early', server.port)]))
  while (release === undefined) await new Promise((resolve) => setTimeout(resolve, 5))
  t.notOk(app.isClosed, 'still waiting, nothing answered')
  release()
  t.equal((await app.read(19)).toString(), 'HTTP/1.0 200 OK\r\n\r\n')
  const { head, body } = splitHttp(await app.rest())
  t.match(head, /^HTTP\/1\.1 200/)
  t.equal(sha256(body), sha256(BODY))
  t.same(server.requests, ['GET /early'])
})

t.test('failure REP codes become statuses, with a one-line body and the close', async (t) => {
  const cases: Array<[number, number]> = [[0x01, 502], [0x02, 403], [0x03, 502], [0x04, 502], [0x05, 502], [0x06, 504], [0x08, 400]]
  for (const [rep, status] of cases) {
    const door = await startDoor(t, (_request, pending) => { pending.reject(rep) })
    const app = await raw(t, door.port)
    app.socket.write('CONNECT example.com:443 HTTP/1.1\r\n\r\n')
    const response = (await app.rest()).toString()
    t.match(response, new RegExp(`^HTTP/1\\.0 ${status} [A-Za-z ]+\\r\\n`), `REP ${rep} → ${status}`)
    t.match(response, /\r\n\r\nmixgate: [^\n]+\n$/, 'a one-line body')
    t.notMatch(response, /example\.com/, 'the destination is not repeated')
    t.same(door.front.counters().rejected, { [status]: 1 })
  }
})

t.test('curl sees a refusal as a proxy error and fetches nothing', async (t) => {
  const door = await startDoor(t, (_request, pending) => { pending.reject(0x02) })
  const result = await curl(['--proxytunnel', '-x', `http://127.0.0.1:${door.port}`, 'http://example.com/'])
  t.not(result.exitCode, 0)
  t.match(result.stderr, /403|CONNECT/, 'curl names the CONNECT failure')
})

t.test('bad heads: their status, a typed error, the close; the next app is served', async (t) => {
  const server = await startHttpServer(t)
  const door = await startDoor(t)
  const cases: Array<[string, string, number, string]> = [
    ['a plain GET to the proxy', 'GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n', 405, 'HTTP_METHOD_NOT_ALLOWED'],
    ['a head past 8 KiB', `CONNECT a.test:443 HTTP/1.1\r\nX-Pad: ${'p'.repeat(9000)}\r\n\r\n`, 431, 'HTTP_HEAD_TOO_LARGE'],
    ['a target without a port', 'CONNECT a.test HTTP/1.1\r\n\r\n', 400, 'HTTP_MALFORMED'],
    ['Digest credentials', 'CONNECT a.test:443 HTTP/1.1\r\nProxy-Authorization: Digest x\r\n\r\n', 400, 'HTTP_BAD_CREDENTIALS'],
  ]
  for (const [what, text, status, code] of cases) {
    const app = await raw(t, door.port)
    app.socket.write(text)
    const response = (await app.rest()).toString()
    t.match(response, new RegExp(`^HTTP/1\\.0 ${status} `), `${what}: ${status}`)
    t.equal(door.errors.at(-1)?.code, code, `${what}: ${code}`)
  }
  const allow = await raw(t, door.port)
  allow.socket.write('POST / HTTP/1.1\r\n\r\n')
  t.match((await allow.rest()).toString(), /\r\nAllow: CONNECT\r\n/, '405 names the one method served')
  const result = await curl(['--proxytunnel', '-x', `http://127.0.0.1:${door.port}`, `http://localhost:${server.port}/after`])
  t.equal(result.exitCode, 0, 'served after the bad apps')
  t.equal(door.front.counters().pending, 0)
})

t.test('an app that leaves mid-head costs one typed error', async (t) => {
  const door = await startDoor(t)
  const app = await raw(t, door.port)
  app.socket.end('CONNECT a.test:443 HTTP/1.1\r\nHost:')
  await app.closed()
  t.equal(door.errors[0]?.code, 'HTTP_TRUNCATED')
})
