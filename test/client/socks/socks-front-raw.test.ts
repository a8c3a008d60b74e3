/**
 * The front door byte by byte, with a raw client: well-formed replies for every answer,
 * optimistic data that is never lost, the commands and address types it refuses, safeSocks,
 * method choice, misuse of accept()/reject(), close(), counters and option checks.
 */
import { once } from 'node:events'
import { connect, createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import fc from 'fast-check'
import { SocksError, SocksFront } from '../../../src/client/socks/index.js'
import type { PendingConnect } from '../../../src/client/socks/index.js'
import { EndReason, socksReplyForEnd } from '../../../src/protocol/end-reason.js'
import {
  BODY, GREETING_NO_AUTH, GREETING_USER_PASS, domainRequest, expectedReply, httpGet, ipv4Request, ipv6Request,
  rawClient, sha256, splitHttp, startFront, startHttpServer, userPassRequest,
} from './harness.js'

const METHOD_NO_AUTH = Buffer.from([0x05, 0x00])
const METHOD_USER_PASS = Buffer.from([0x05, 0x02])
const AUTH_OK = Buffer.from([0x01, 0x00])

/** Reads everything the app sends after its request, until it half-closes. */
async function readAppBytes (pending: PendingConnect): Promise<Buffer> {
  const chunks = [...pending.takeEarlyData()]
  pending.socket.on('data', (chunk: Buffer) => chunks.push(chunk))
  pending.socket.resume()
  if (!pending.socket.readableEnded) await once(pending.socket, 'end')
  return Buffer.concat(chunks)
}

t.test('reject(rep): the app reads one well-formed reply (VER 5, REP, RSV 0, ATYP 1, 4+2 zero bytes), then EOF', async (t) => {
  const reps = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, socksReplyForEnd(EndReason.TIMEOUT), 0xf0]
  const { port, front } = await startFront(t, {
    onConnect: (request, pending) => { pending.reject(request.port) }, // the test's port is the REP to send
  })
  for (const rep of reps) {
    const client = await rawClient(t, port)
    client.socket.write(GREETING_NO_AUTH)
    t.same(await client.read(2), METHOD_NO_AUTH)
    client.socket.write(domainRequest('example.com', rep))
    t.same(await client.read(10), expectedReply(rep), `REP 0x${rep.toString(16)}`)
    t.same(await client.rest(), Buffer.alloc(0), 'nothing after the reply; the front closed')
  }
  t.same(front.counters().rejected, { 1: 1, 2: 1, 3: 1, 4: 1, 5: 1, 6: 2, 240: 1 })
})

t.test('accept(): success reply with BND 0.0.0.0:0, whatever the destination', async (t) => {
  const target = await startHttpServer(t)
  const { port } = await startFront(t)
  const client = await rawClient(t, port)
  client.socket.write(GREETING_NO_AUTH)
  await client.read(2)
  client.socket.write(ipv4Request([127, 0, 0, 1], target.port))
  t.same(await client.read(10), expectedReply(0x00), 'no address is revealed')
})

t.test('optimistic data: greeting, then request + HTTP GET in one write, without waiting: the GET is served', async (t) => {
  const target = await startHttpServer(t)
  const { port, record } = await startFront(t)
  const client = await rawClient(t, port)
  client.socket.write(GREETING_NO_AUTH)
  client.socket.write(Buffer.concat([domainRequest('localhost', target.port), httpGet('/optimistic', target.port)]))
  t.same(await client.read(2), METHOD_NO_AUTH)
  t.same(await client.read(10), expectedReply(0x00))
  const { head, body } = splitHttp(await client.rest())
  t.match(head, /^HTTP\/1\.1 200/)
  t.equal(sha256(body), sha256(BODY), 'body SHA-256 matches')
  t.same(target.requests, ['GET /optimistic'], 'the pipelined GET reached the server whole')
  t.equal(record.requests.length, 1)
})

t.test('optimistic data: greeting, credentials, request and 100 KiB in one write reach the handler in order', async (t) => {
  const payload = BODY.subarray(0, 100 * 1024)
  let seen: Promise<Buffer> | undefined
  const { port, record } = await startFront(t, {
    onConnect: (_request, pending) => { seen = readAppBytes(pending); pending.accept() },
  })
  const client = await rawClient(t, port)
  client.socket.end(Buffer.concat([GREETING_USER_PASS, userPassRequest('u', 'p'), domainRequest('example.com', 80), payload]))
  t.same(await client.read(2), METHOD_USER_PASS)
  t.same(await client.read(2), AUTH_OK)
  t.same(await client.read(10), expectedReply(0x00))
  const bytes = await seen!
  t.equal(bytes.length, payload.length, 'every byte')
  t.equal(sha256(bytes), sha256(payload), 'in order')
  t.match(record.requests, [{ host: 'example.com', username: 'u', password: 'p' }])
})

t.test('optimistic data, property: any payload, any split of the stream into writes, arrives exactly', async (t) => {
  let seen: Promise<Buffer> | undefined
  const { port } = await startFront(t, {
    onConnect: (_request, pending) => { seen = readAppBytes(pending); pending.accept() },
  })
  await fc.assert(fc.asyncProperty(
    fc.uint8Array({ minLength: 1, maxLength: 4000 }),
    fc.boolean(),
    fc.array(fc.integer({ min: 1, max: 600 }), { minLength: 1, maxLength: 12 }),
    async (payload, withAuth, cuts) => {
      seen = undefined
      const stream = Buffer.concat([
        withAuth ? GREETING_USER_PASS : GREETING_NO_AUTH,
        withAuth ? userPassRequest('key', '') : Buffer.alloc(0),
        domainRequest('property.test', 443),
        payload,
      ])
      const client = await rawClient(t, port)
      let offset = 0
      for (const cut of cuts) {
        if (offset >= stream.length) break
        client.socket.write(stream.subarray(offset, offset + cut))
        offset += cut
        await new Promise((resolve) => setImmediate(resolve)) // separate writes, often separate segments
      }
      client.socket.end(stream.subarray(offset))
      const bytes = await new Promise<Buffer>((resolve, reject) => {
        const poll = (): void => { if (seen !== undefined) seen.then(resolve, reject); else setTimeout(poll, 5) }
        poll()
      })
      client.socket.destroy()
      return bytes.equals(Buffer.from(payload))
    }), { numRuns: 30 })
  t.pass('30 random payloads and splits arrived byte for byte')
})

t.test('20 apps at once, each with a pipelined GET: every one gets its own answer', async (t) => {
  const target = await startHttpServer(t)
  const { port, front } = await startFront(t)
  const bodies = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
    const client = await rawClient(t, port)
    client.socket.write(Buffer.concat([GREETING_NO_AUTH, domainRequest('localhost', target.port), httpGet(`/parallel/${i}`, target.port)]))
    await client.read(12)
    return splitHttp(await client.rest()).body
  }))
  t.ok(bodies.every((body) => sha256(body) === sha256(BODY)), 'all 20 bodies intact')
  t.same([...target.requests].sort(), Array.from({ length: 20 }, (_, i) => `GET /parallel/${i}`).sort(), 'each GET arrived once')
  t.match(front.counters(), { connections: 20, accepted: 20 })
})

t.test('BIND and UDP ASSOCIATE (and unknown commands) get REP 0x07; the handler never sees them', async (t) => {
  const { port, record, front } = await startFront(t)
  for (const command of [0x02, 0x03, 0x09]) {
    const client = await rawClient(t, port)
    client.socket.write(Buffer.concat([GREETING_NO_AUTH, ipv4Request([127, 0, 0, 1], 80, command)]))
    t.same(await client.read(2), METHOD_NO_AUTH)
    t.same(await client.read(10), expectedReply(0x07), `command ${command}`)
    await client.closed()
  }
  t.same(record.requests, [])
  t.same(record.errors.map((e) => e.code), ['SOCKS_COMMAND_UNSUPPORTED', 'SOCKS_COMMAND_UNSUPPORTED', 'SOCKS_COMMAND_UNSUPPORTED'])
  t.ok(record.errors.every((e) => e instanceof SocksError && e.rep === 0x07))
  t.same(front.counters().rejected, { 7: 3 })
})

t.test('safeSocks: IP literals are refused with REP 0x02 and a warning; names still go through', async (t) => {
  const { port, record, front } = await startFront(t, {
    safeSocks: true,
    onConnect: (_request, pending) => { pending.reject(0x04) },
  })
  const requests = [ipv4Request([10, 1, 2, 3], 80), ipv6Request([0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 1], 80)]
  for (const request of requests) {
    const client = await rawClient(t, port)
    client.socket.write(Buffer.concat([GREETING_NO_AUTH, request]))
    await client.read(2)
    t.same(await client.read(10), expectedReply(0x02))
    await client.closed()
  }
  t.same(record.requests, [], 'the handler never saw an IP literal')
  t.same(record.warnings, ['SOCKS_UNSAFE_IP_LITERAL', 'SOCKS_UNSAFE_IP_LITERAL'])
  const named = await rawClient(t, port)
  named.socket.write(Buffer.concat([GREETING_NO_AUTH, domainRequest('example.com', 80)]))
  await named.read(2)
  t.same(await named.read(10), expectedReply(0x04), 'a name reaches the handler')
  t.same(front.counters().rejected, { 2: 2, 4: 1 })
})

t.test('IPv6 and IPv4 literals reach the handler as RFC 5952 / dotted text, with a warning', async (t) => {
  const { port, record } = await startFront(t, { onConnect: (_request, pending) => { pending.reject(0x04) } })
  const cases: Array<[Buffer, string, string]> = [
    [ipv6Request([0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 1], 8080), '2001:db8::1', 'ipv6'],
    [ipv6Request([...new Array(10).fill(0), 0xff, 0xff, 192, 0, 2, 1], 443), '::ffff:c000:201', 'ipv6'],
    [ipv4Request([192, 0, 2, 255], 443), '192.0.2.255', 'ipv4'],
  ]
  for (const [request] of cases) {
    const client = await rawClient(t, port)
    client.socket.write(Buffer.concat([GREETING_NO_AUTH, request]))
    await client.read(2)
    t.same(await client.read(10), expectedReply(0x04))
  }
  t.same(record.requests.map((r) => [r.host, r.addressType]), cases.map(([, host, type]) => [host, type]))
  t.equal(record.warnings.length, 3)
})

t.test('method choice follows Tor: user/pass when offered and enabled, else no-auth, else 0xFF', async (t) => {
  const both = await startFront(t, { onConnect: (_r, pending) => { pending.reject(0x01) } })
  const offersBoth = await rawClient(t, both.port)
  offersBoth.socket.write(Buffer.from([0x05, 0x02, 0x00, 0x02]))
  t.same(await offersBoth.read(2), METHOD_USER_PASS, 'offered both: user/pass, so credentials isolate')
  const offersNone = await rawClient(t, both.port)
  offersNone.socket.write(Buffer.from([0x05, 0x01, 0x00]))
  t.same(await offersNone.read(2), METHOD_NO_AUTH)

  const userPassOnly = await startFront(t, { auth: { none: false, userPass: true } })
  const noAuthApp = await rawClient(t, userPassOnly.port)
  noAuthApp.socket.write(Buffer.from([0x05, 0x01, 0x00]))
  t.same(await noAuthApp.read(2), Buffer.from([0x05, 0xff]), 'no acceptable method')
  await noAuthApp.closed()
  t.same(userPassOnly.record.errors.map((e) => e.code), ['SOCKS_NO_ACCEPTABLE_METHOD'])
})

t.test('a throwing or rejecting handler: REP 0x01 and SOCKS_HANDLER_FAILED', async (t) => {
  let calls = 0
  const { port, record } = await startFront(t, {
    onConnect: async () => { calls++; if (calls === 1) throw new Error('sync-ish failure'); await Promise.reject(new Error('async failure')) },
  })
  for (let i = 0; i < 2; i++) {
    const client = await rawClient(t, port)
    client.socket.write(Buffer.concat([GREETING_NO_AUTH, domainRequest('example.com', 80)]))
    await client.read(2)
    t.same(await client.read(10), expectedReply(0x01))
    await client.closed()
  }
  t.same(record.errors.map((e) => e.code), ['SOCKS_HANDLER_FAILED', 'SOCKS_HANDLER_FAILED'])
})

t.test('misuse: accept twice, reject after accept, reject(0) or reject(256) throw SOCKS_INVALID_USE', async (t) => {
  let pending: PendingConnect | undefined
  const { port } = await startFront(t, { onConnect: (_r, p) => { pending = p } })
  const client = await rawClient(t, port)
  client.socket.write(Buffer.concat([GREETING_NO_AUTH, domainRequest('example.com', 80)]))
  await client.read(2)
  while (pending === undefined) await new Promise((resolve) => setTimeout(resolve, 5))
  t.throws(() => pending!.reject(0), { code: 'SOCKS_INVALID_USE' })
  t.throws(() => pending!.reject(256), { code: 'SOCKS_INVALID_USE' })
  t.equal(pending.accept(), true)
  t.throws(() => pending!.accept(), { code: 'SOCKS_INVALID_USE' })
  t.throws(() => pending!.reject(0x01), { code: 'SOCKS_INVALID_USE' })
  t.same(await client.read(10), expectedReply(0x00), 'exactly one reply was sent')
})

t.test('an app that resets while its request waits: accept() and reject() return false, send nothing', async (t) => {
  const pendings: PendingConnect[] = []
  const { port, front } = await startFront(t, { onConnect: (_r, p) => { pendings.push(p) } })
  for (let i = 0; i < 2; i++) {
    const client = await rawClient(t, port)
    client.socket.write(Buffer.concat([GREETING_NO_AUTH, domainRequest('example.com', 80)]))
    await client.read(2)
    while (pendings.length === i) await new Promise((resolve) => setTimeout(resolve, 5))
    client.socket.resetAndDestroy() // a FIN alone is a half-close, which the app may mean: see the next test
    const appSocket = pendings[i]!.socket
    if (!appSocket.destroyed) await new Promise((resolve) => appSocket.once('close', resolve)) // once() would throw on the reset
  }
  t.equal(pendings[0]!.accept(), false)
  t.equal(pendings[1]!.reject(0x05), false)
  t.match(front.counters(), { accepted: 0, rejected: {}, pending: 0 })
})

t.test('an app that half-closes after its request still gets its answer and its data', async (t) => {
  const target = await startHttpServer(t)
  const { port } = await startFront(t)
  const client = await rawClient(t, port)
  client.socket.end(Buffer.concat([GREETING_NO_AUTH, domainRequest('localhost', target.port), httpGet('/half-closed', target.port)]))
  t.same(await client.read(2), METHOD_NO_AUTH)
  t.same(await client.read(10), expectedReply(0x00))
  t.equal(sha256(splitHttp(await client.rest()).body), sha256(BODY))
})

t.test('close(): stops listening and destroys connections in the handshake or waiting for an answer', async (t) => {
  let pending: PendingConnect | undefined
  const errors: SocksError[] = []
  const front = new SocksFront({ port: 0, auth: { none: true, userPass: false }, onConnect: (_r, p) => { pending = p }, onError: (err) => errors.push(err) })
  const { port } = await front.listen()
  t.teardown(() => front.close())
  const waiting = await rawClient(t, port)
  waiting.socket.write(Buffer.concat([GREETING_NO_AUTH, domainRequest('example.com', 80)]))
  await waiting.read(2)
  while (pending === undefined) await new Promise((resolve) => setTimeout(resolve, 5))
  const greeting = await rawClient(t, port)
  greeting.socket.write(GREETING_NO_AUTH)
  await greeting.read(2)
  t.equal(front.counters().pending, 2)
  await front.close()
  await waiting.closed()
  await greeting.closed()
  t.ok(pending.socket.destroyed, 'the waiting app socket is destroyed')
  t.equal(front.counters().pending, 0)
  t.same(errors, [], 'shutting down is not reported as the apps\' fault')
  const refused = await new Promise<string>((resolve) => {
    const probe = connect(port, '127.0.0.1')
    probe.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? ''))
    probe.once('connect', () => { probe.destroy(); resolve('connected') })
  })
  t.equal(refused, 'ECONNREFUSED', 'no longer listening')
})

t.test('options are checked; a busy port fails listen() with SOCKS_LISTEN_FAILED', async (t) => {
  const onConnect = (): void => {}
  t.throws(() => new SocksFront({ auth: { none: false, userPass: false }, onConnect }), { code: 'SOCKS_CONFIG' })
  t.throws(() => new SocksFront({ port: 70000, auth: { none: true, userPass: false }, onConnect }), { code: 'SOCKS_CONFIG' })
  t.throws(() => new SocksFront({ handshakeTimeoutMs: 0, auth: { none: true, userPass: false }, onConnect }), { code: 'SOCKS_CONFIG' })
  const busy = createServer()
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve))
  t.teardown(() => busy.close())
  const front = new SocksFront({ port: (busy.address() as AddressInfo).port, auth: { none: true, userPass: false }, onConnect })
  await t.rejects(front.listen(), { code: 'SOCKS_LISTEN_FAILED' })
  await front.close()
})
