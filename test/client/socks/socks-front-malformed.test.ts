/**
 * Bad input costs one connection and nothing else: random bytes, bad versions, truncated and
 * malformed requests, silent apps. Each ends in exactly one typed SocksError (the reply, if
 * any, well formed), the connection is closed, and the front goes on serving: an app whose
 * request was waiting meanwhile is answered and carries its data afterwards.
 */
import t from 'tap'
import type { Test } from 'tap'
import fc from 'fast-check'
import { SocksError, SocksErrorCode } from '../../../src/client/socks/index.js'
import type { PendingConnect } from '../../../src/client/socks/index.js'
import {
  BODY, GREETING_NO_AUTH, GREETING_USER_PASS, domainRequest, expectedReply, httpGet, rawClient, sha256, splitHttp,
  startFront, startHttpServer, userPassRequest, directConnect,
} from './harness.js'
import type { StartedFront } from './harness.js'

const KNOWN_CODES = new Set<string>(Object.values(SocksErrorCode))

/**
 * A front whose handler holds requests for 'held.example' (answered later by the test),
 * connects 'localhost' straight through, and refuses anything else random input produces.
 */
async function frontForAbuse (t: Test, handshakeTimeoutMs = 2000): Promise<StartedFront & { held: PendingConnect[] }> {
  const held: PendingConnect[] = []
  const started = await startFront(t, {
    handshakeTimeoutMs,
    lingerMs: 500,
    onConnect: (request, pending, started) => {
      if (request.host === 'held.example') held.push(pending)
      else if (request.host === 'localhost') directConnect(request, pending, started)
      else pending.reject(0x02)
    },
  })
  return { ...started, held }
}

/** Writes `bytes`, half-closes, and returns every byte the front sent before it closed. */
async function sendAndCollect (t: Test, port: number, bytes: Uint8Array, end = true): Promise<Buffer> {
  const client = await rawClient(t, port)
  if (bytes.length > 0) client.socket.write(bytes)
  if (end) client.socket.end()
  return await client.rest()
}

/** An app whose request waits in the handler while others misbehave; answered at the end. */
async function holdOne (t: Test, front: StartedFront & { held: PendingConnect[] }): Promise<Awaited<ReturnType<typeof rawClient>>> {
  const client = await rawClient(t, front.port)
  client.socket.write(Buffer.concat([GREETING_NO_AUTH, domainRequest('held.example', 80)]))
  t.same(await client.read(2), Buffer.from([0x05, 0x00]))
  while (front.held.length === 0) await new Promise((resolve) => setTimeout(resolve, 5))
  return client
}

async function heldStillWorks (t: Test, front: StartedFront & { held: PendingConnect[] }, client: Awaited<ReturnType<typeof rawClient>>): Promise<void> {
  const pending = front.held[0]!
  t.equal(pending.accept(), true, 'the waiting request is still there to answer')
  t.same(await client.read(10), expectedReply(0x00))
  client.socket.write('still here')
  const echo = await new Promise<Buffer>((resolve) => {
    pending.socket.once('data', resolve)
    pending.socket.resume() // accepted sockets stay paused until their owner reads
  })
  t.equal(echo.toString(), 'still here', 'its data flows')
}

async function normalRequestWorks (t: Test, port: number): Promise<void> {
  const target = await startHttpServer(t)
  const client = await rawClient(t, port)
  client.socket.write(Buffer.concat([GREETING_NO_AUTH, domainRequest('localhost', target.port), httpGet('/after', target.port)]))
  await client.read(2)
  t.same(await client.read(10), expectedReply(0x00), 'a normal request right after is served')
  t.equal(sha256(splitHttp(await client.rest()).body), sha256(BODY))
}

t.test('random bytes: each connection ends in exactly one typed error (or one handled request), the rest are served', async (t) => {
  const front = await frontForAbuse(t)
  const held = await holdOne(t, front)
  const prefixes = fc.constantFrom(
    Buffer.alloc(0), // pure noise: almost always a bad version
    GREETING_NO_AUTH, // a good greeting, then a noisy request
    GREETING_USER_PASS, // then a noisy RFC 1929 request
    Buffer.concat([GREETING_NO_AUTH, Buffer.from([0x05, 0x01, 0x00])]) // a request header, then noise
  )
  await fc.assert(fc.asyncProperty(prefixes, fc.uint8Array({ minLength: 0, maxLength: 300 }), async (prefix, noise) => {
    const before = front.record.errors.length + front.record.requests.length
    await sendAndCollect(t, front.port, Buffer.concat([prefix, noise]))
    const after = front.record.errors.length + front.record.requests.length
    const last = front.record.errors.at(-1)
    return after === before + 1 && (front.record.errors.length === 0 || (last instanceof SocksError && KNOWN_CODES.has(last.code)))
  }), { numRuns: 120 })
  t.pass('120 random inputs, one outcome each, all typed')
  t.ok(front.record.errors.every((e) => e instanceof SocksError && KNOWN_CODES.has(e.code)))
  await heldStillWorks(t, front, held)
  await normalRequestWorks(t, front.port)
})

t.test('specific bad inputs: the right code, the right (well-formed) answer, and the front serves on', async (t) => {
  const front = await frontForAbuse(t)
  const held = await holdOne(t, front)
  const noAuth = Buffer.from([0x05, 0x00])
  const cases: Array<{ name: string, bytes: Buffer, code: string, reply: Buffer }> = [
    // SOCKS4 is served on the same port (socks4-front.test.ts); its BIND is refused with its own reply.
    { name: 'SOCKS4 BIND', bytes: Buffer.from([0x04, 0x02, 0x00, 0x50, 127, 0, 0, 1, 0]), code: 'SOCKS_COMMAND_UNSUPPORTED', reply: Buffer.from([0, 0x5b, 0, 0, 0, 0, 0, 0]) },
    { name: 'HTTP request to the SOCKS port', bytes: httpGet('/', 80), code: 'SOCKS_BAD_VERSION', reply: Buffer.alloc(0) },
    { name: 'greeting with no methods', bytes: Buffer.from([0x05, 0x00]), code: 'SOCKS_MALFORMED', reply: Buffer.alloc(0) },
    { name: 'greeting offering only GSSAPI', bytes: Buffer.from([0x05, 0x01, 0x01]), code: 'SOCKS_NO_ACCEPTABLE_METHOD', reply: Buffer.from([0x05, 0xff]) },
    { name: 'request with version 4', bytes: Buffer.concat([GREETING_NO_AUTH, Buffer.from([0x04, 0x01, 0x00, 0x01, 1, 2, 3, 4, 0, 80])]), code: 'SOCKS_BAD_VERSION', reply: Buffer.concat([noAuth, expectedReply(0x01)]) },
    { name: 'request with RSV 1', bytes: Buffer.concat([GREETING_NO_AUTH, Buffer.from([0x05, 0x01, 0x01, 0x01, 1, 2, 3, 4, 0, 80])]), code: 'SOCKS_MALFORMED', reply: Buffer.concat([noAuth, expectedReply(0x01)]) },
    { name: 'domain length 0', bytes: Buffer.concat([GREETING_NO_AUTH, Buffer.from([0x05, 0x01, 0x00, 0x03, 0x00, 0x00, 0x50])]), code: 'SOCKS_MALFORMED', reply: Buffer.concat([noAuth, expectedReply(0x01)]) },
    { name: 'unknown address type 5', bytes: Buffer.concat([GREETING_NO_AUTH, Buffer.from([0x05, 0x01, 0x00, 0x05, 1, 2, 3, 4])]), code: 'SOCKS_ADDRESS_TYPE_UNSUPPORTED', reply: Buffer.concat([noAuth, expectedReply(0x08)]) },
    { name: 'port 0', bytes: Buffer.concat([GREETING_NO_AUTH, domainRequest('example.com', 0)]), code: 'SOCKS_BAD_ADDRESS', reply: Buffer.concat([noAuth, expectedReply(0x01)]) },
    { name: 'name with a space and a NUL', bytes: Buffer.concat([GREETING_NO_AUTH, domainRequest('evil .com\u0000', 80)]), code: 'SOCKS_BAD_ADDRESS', reply: Buffer.concat([noAuth, expectedReply(0x01)]) },
    { name: 'RFC 1929 version 5', bytes: Buffer.concat([GREETING_USER_PASS, Buffer.from([0x05, 0x01, 0x61, 0x01, 0x62])]), code: 'SOCKS_AUTH_FAILED', reply: Buffer.from([0x05, 0x02, 0x01, 0x01]) },
    { name: 'RFC 1929 username not UTF-8', bytes: Buffer.concat([GREETING_USER_PASS, Buffer.from([0x01, 0x01, 0xff, 0x00])]), code: 'SOCKS_AUTH_FAILED', reply: Buffer.from([0x05, 0x02, 0x01, 0x01]) },
    { name: 'greeting cut short', bytes: Buffer.from([0x05, 0x03, 0x00]), code: 'SOCKS_TRUNCATED', reply: Buffer.alloc(0) },
    { name: 'credentials cut short', bytes: Buffer.concat([GREETING_USER_PASS, Buffer.from([0x01, 0x05, 0x61])]), code: 'SOCKS_TRUNCATED', reply: Buffer.from([0x05, 0x02]) },
    { name: 'request cut short, then close', bytes: Buffer.concat([GREETING_NO_AUTH, domainRequest('example.com', 80).subarray(0, 9)]), code: 'SOCKS_TRUNCATED', reply: noAuth },
  ]
  for (const c of cases) {
    const errorsBefore = front.record.errors.length
    const received = await sendAndCollect(t, front.port, c.bytes)
    t.same(received, c.reply, `${c.name}: answer`)
    t.equal(front.record.errors.length, errorsBefore + 1, `${c.name}: one error`)
    const err = front.record.errors.at(-1)
    t.ok(err instanceof SocksError, `${c.name}: a SocksError`)
    t.equal(err?.code, c.code, `${c.name}: ${c.code}`)
    t.notMatch(err?.message ?? '', /example\.com|evil|127\.0\.0\.1/, `${c.name}: message names no destination or client`)
  }
  t.same(front.record.requests.map((r) => r.host), ['held.example'], 'no bad input reached the handler')
  t.equal(front.front.counters().errors.SOCKS_TRUNCATED, 3)
  await heldStillWorks(t, front, held)
  await normalRequestWorks(t, front.port)
})

t.test('a silent app is closed after handshakeTimeoutMs with SOCKS_HANDSHAKE_TIMEOUT, in any phase', async (t) => {
  const front = await frontForAbuse(t, 150)
  const silentFromStart = await sendAndCollect(t, front.port, Buffer.alloc(0), false)
  t.same(silentFromStart, Buffer.alloc(0), 'nothing was sent to it')
  const silentAfterGreeting = await sendAndCollect(t, front.port, GREETING_NO_AUTH, false)
  t.same(silentAfterGreeting, Buffer.from([0x05, 0x00]))
  const silentInCredentials = await sendAndCollect(t, front.port, Buffer.concat([GREETING_USER_PASS, userPassRequest('u', 'p').subarray(0, 3)]), false)
  t.same(silentInCredentials, Buffer.from([0x05, 0x02]))
  t.same(front.record.errors.map((e) => e.code), ['SOCKS_HANDSHAKE_TIMEOUT', 'SOCKS_HANDSHAKE_TIMEOUT', 'SOCKS_HANDSHAKE_TIMEOUT'])
  t.equal(front.front.counters().pending, 0, 'nothing left behind')
  await normalRequestWorks(t, front.port)
})
