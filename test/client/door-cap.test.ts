/**
 * The doors' cap on app connections open at once (door-cap.ts, issue #17), on real loopback
 * sockets: past the cap a SOCKS5 request is answered 0x01 at once and an HTTP CONNECT 503,
 * without reaching the connect handler; the refusal is counted and logged as a count; the
 * connections already served carry on; a closed one frees its place. With no refusal slot
 * left, a connection is closed at once. The default cap follows the open-file limit.
 */
import t from 'tap'
import { parseOpenFileLimit } from '../../src/base/open-file-limit.js'
import { ClientLog } from '../../src/client/client-log.js'
import { DESCRIPTOR_RESERVE, DoorCap, FALLBACK_MAX_CONNECTIONS, defaultMaxConnections } from '../../src/client/door-cap.js'
import { FrontDoors } from '../../src/client/front-doors.js'
import type { ConnectHandler } from '../../src/client/socks/index.js'
import { memoryLogger, waitFor } from '../helpers/cascade.js'
import { GREETING_NO_AUTH, domainRequest, expectedReply, rawClient, startFront, type RawClient } from './socks/harness.js'

/** The handler's stand-in for a stream: accept, then echo on the app's own socket. */
const echo: ConnectHandler = (_request, pending) => {
  if (!pending.accept()) return
  pending.socket.on('data', (chunk: Buffer) => pending.socket.write(chunk))
  pending.socket.on('end', () => pending.socket.end()) // the doors allow half-open sockets: the stream ends its side
  pending.socket.resume()
}

async function socksConnect (t: Parameters<typeof rawClient>[0], port: number): Promise<{ client: RawClient, rep: number }> {
  const client = await rawClient(t, port)
  client.socket.write(Buffer.concat([GREETING_NO_AUTH, domainRequest('example.test', 80)]))
  t.same(await client.read(2), Buffer.from([0x05, 0x00]), 'method: no authentication')
  const reply = await client.read(10)
  return { client, rep: reply[1]! }
}

async function echoes (client: RawClient, byte: string): Promise<boolean> {
  client.socket.write(byte)
  return (await client.read(1)).toString() === byte
}

t.test('SOCKS5 at a cap of 5: the 6th gets 0x01 at once, is counted, and the first 5 still work', async (t) => {
  const refusals: string[] = []
  const started = await startFront(t, { cap: new DoorCap(5), onConnect: echo, onRefused: (reason) => { refusals.push(reason) } })
  const served: RawClient[] = []
  for (let i = 0; i < 5; i++) {
    const { client, rep } = await socksConnect(t, started.port)
    t.equal(rep, 0x00, `stream ${i + 1} served`)
    served.push(client)
  }
  const sixth = await rawClient(t, started.port)
  sixth.socket.write(Buffer.concat([GREETING_NO_AUTH, domainRequest('example.test', 80)]))
  t.same(await sixth.read(2), Buffer.from([0x05, 0x00]))
  t.same(await sixth.read(10), expectedReply(0x01), 'the 6th: general failure, as Tor answers a resource limit')
  await sixth.closed()
  t.equal(started.record.requests.length, 5, 'the handler never saw the 6th')
  t.same(refusals, ['cap'])
  await waitFor(() => started.front.counters().open === 5, 'the refused socket to close')
  t.match(started.front.counters(), { accepted: 5, rejected: { 1: 1 }, refused: { cap: 1 }, open: 5, maxOpen: 5 })

  for (const [i, client] of served.entries()) t.ok(await echoes(client, String(i)), `stream ${i + 1} still carries bytes`)

  served[0]!.socket.destroy()
  await waitFor(() => started.front.counters().open === 4, 'the server to see the close')
  const { client, rep } = await socksConnect(t, started.port)
  t.equal(rep, 0x00, 'a closed stream frees its place')
  t.ok(await echoes(client, 'z'))
  t.same(started.front.counters().refused, { cap: 1 })
})

t.test('no refusal slot left: closed at once, unanswered, still counted', async (t) => {
  const started = await startFront(t, { cap: new DoorCap(1, 0), onConnect: echo })
  const { rep } = await socksConnect(t, started.port)
  t.equal(rep, 0x00)
  const second = await rawClient(t, started.port)
  second.socket.write(Buffer.concat([GREETING_NO_AUTH, domainRequest('example.test', 80)]))
  t.same(await second.rest(), Buffer.alloc(0), 'closed without a byte')
  t.same(started.front.counters().refused, { cap: 1 })
})

t.test('both doors share one cap: HTTP CONNECT past it gets 503, logged as a count', async (t) => {
  const { logger, lines } = memoryLogger('client', 'info')
  const events = new ClientLog(logger, 60_000)
  const doors = new FrontDoors({
    socks: { host: '127.0.0.1', port: 0, auth: { none: true, userPass: true }, maxConnections: 1 },
    http: { host: '127.0.0.1', port: 0 },
    onConnect: echo,
    events,
    logger,
  })
  const { socks, http } = await doors.listen()
  t.teardown(async () => { await doors.close(); events.close() })
  const { client, rep } = await socksConnect(t, socks.port)
  t.equal(rep, 0x00, 'the one place, taken through SOCKS')
  const app = await rawClient(t, http!.port)
  app.socket.write('CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n')
  t.match((await app.rest()).toString(), /^HTTP\/1\.0 503 Service Unavailable\r\n/)
  t.ok(await echoes(client, 'k'), 'the SOCKS stream is unharmed')
  await waitFor(() => doors.httpCounters?.open === 0, 'the refused socket to close')
  t.match(doors.httpCounters, { refused: { cap: 1 }, rejected: { 503: 1 }, open: 0, maxOpen: 1 })
  events.close()
  const logged = lines.filter((line) => line.includes('door.refused'))
  t.equal(logged.length, 1, 'one line per interval')
  t.match(logged[0], /door=http/)
  t.match(logged[0], /reason=cap/)
  t.match(logged[0], /count=1/)
  t.notMatch(lines.join(''), /example\.test/, 'no destination in the log')
})

t.test('the default cap follows the open-file limit', async (t) => {
  const limits = 'Limit                     Soft Limit           Hard Limit           Units     \n' +
    'Max processes             96367                96367                processes \n' +
    'Max open files            20000                65536                files     \n'
  t.equal(parseOpenFileLimit(limits), 20_000, 'the soft limit')
  t.equal(parseOpenFileLimit(limits.replace('20000', 'unlimited')), undefined)
  t.equal(parseOpenFileLimit('no such line'), undefined)
  t.equal(defaultMaxConnections({ sharedWithExit: false, openFileLimit: 20_000 }), 20_000 - DESCRIPTOR_RESERVE)
  t.equal(defaultMaxConnections({ sharedWithExit: true, openFileLimit: 20_000 }), (20_000 - DESCRIPTOR_RESERVE) / 2, 'up: the exit holds a descriptor per stream too')
  t.equal(defaultMaxConnections({ sharedWithExit: true, openFileLimit: 65_536 }), (65_536 - DESCRIPTOR_RESERVE) / 2)
  t.equal(defaultMaxConnections({ sharedWithExit: true, openFileLimit: undefined }), FALLBACK_MAX_CONNECTIONS, 'no /proc: a fixed default')
  t.equal(defaultMaxConnections({ sharedWithExit: false, openFileLimit: 256 }), 64, 'never below a floor')
  t.throws(() => new DoorCap(0), RangeError)
})
