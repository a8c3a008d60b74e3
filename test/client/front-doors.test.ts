/**
 * The client's doors side by side (front-doors.ts): both answer through one connect handler;
 * what goes wrong is logged as counts per interval, never per request and never with a
 * destination (R19); SOCKS4 with an address gets the unsafe-request warning with Tor's
 * advice (use SOCKS4a), as SOCKS5 with an address does (use socks5h).
 */
import t from 'tap'
import { connect } from 'node:net'
import { ClientLog } from '../../src/client/client-log.js'
import { FrontDoors } from '../../src/client/front-doors.js'
import type { ConnectRequest } from '../../src/client/socks/index.js'
import { memoryLogger } from '../helpers/cascade.js'

async function exchange (port: number, bytes: Buffer | string): Promise<Buffer> {
  const socket = connect({ host: '127.0.0.1', port })
  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => chunks.push(chunk))
  socket.on('error', () => {})
  socket.write(bytes)
  await new Promise((resolve) => socket.once('close', resolve))
  return Buffer.concat(chunks)
}

t.test('one handler behind both doors; counted warnings and errors, no destinations in the log', async (t) => {
  const { logger, lines } = memoryLogger('client', 'info')
  const events = new ClientLog(logger, 60_000)
  const requests: Array<{ door: string, request: ConnectRequest }> = []
  const doors = new FrontDoors({
    socks: { host: '127.0.0.1', port: 0, auth: { none: true, userPass: true } },
    http: { host: '127.0.0.1', port: 0 },
    onConnect: (request, pending) => { requests.push({ door: 'any', request }); pending.reject(0x02) },
    events,
    logger,
  })
  const { socks, http } = await doors.listen()
  t.teardown(() => doors.close())
  t.same(await exchange(socks.port, Buffer.from([0x04, 0x01, 0, 80, 198, 51, 100, 7, 0])), Buffer.from([0, 0x5b, 0, 0, 0, 0, 0, 0]), 'SOCKS4: refused by the handler')
  t.match((await exchange(http!.port, 'CONNECT secret-site.test:443 HTTP/1.1\r\n\r\n')).toString(), /^HTTP\/1\.0 403 /, 'HTTP: the same handler, its own answer')
  t.match((await exchange(http!.port, 'GET http://secret-site.test/ HTTP/1.1\r\n\r\n')).toString(), /^HTTP\/1\.0 405 /)
  t.same(requests.map((r) => r.request.host), ['198.51.100.7', 'secret-site.test'])
  t.same(doors.socksCounters.warnings, { SOCKS_UNSAFE_IP_LITERAL: 1 })
  t.same(doors.httpCounters?.rejected, { 403: 1, 405: 1 })
  t.same(lines.filter((line) => /unsafe_request|bad_request/.test(line)), [], 'nothing logged per request above debug')
  events.close()
  const unsafe = lines.filter((line) => line.includes('socks.unsafe_request'))
  t.equal(unsafe.length, 1, 'one counted line at close')
  t.match(unsafe[0], /version=4/)
  t.match(unsafe[0], /SOCKS4a/, 'with Tor\'s advice')
  t.match(unsafe[0], /count=1/)
  t.match(lines.join('\n'), /http\.bad_request.*HTTP_METHOD_NOT_ALLOWED.*count=1/)
  t.notMatch(lines.join('\n'), /198\.51\.100\.7|secret-site/, 'no destination anywhere in the log')
})

t.test('without an http address there is no HTTP door', async (t) => {
  const { logger } = memoryLogger()
  const events = new ClientLog(logger, 60_000)
  t.teardown(() => events.close())
  const doors = new FrontDoors({ socks: { host: '127.0.0.1', port: 0, auth: { none: true, userPass: false } }, onConnect: () => {}, events, logger })
  const addresses = await doors.listen()
  t.teardown(() => doors.close())
  t.equal(addresses.http, undefined)
  t.equal(doors.httpCounters, undefined)
})

t.test('an HTTP port in use: the SOCKS port is closed again and the error says which door', async (t) => {
  const { logger } = memoryLogger()
  const events = new ClientLog(logger, 60_000)
  t.teardown(() => events.close())
  const first = new FrontDoors({ socks: { host: '127.0.0.1', port: 0, auth: { none: true, userPass: true } }, http: { host: '127.0.0.1', port: 0 }, onConnect: () => {}, events, logger })
  const taken = await first.listen()
  t.teardown(() => first.close())
  const second = new FrontDoors({ socks: { host: '127.0.0.1', port: 0, auth: { none: true, userPass: true } }, http: taken.http!, onConnect: () => {}, events, logger })
  await t.rejects(second.listen(), { code: 'HTTP_LISTEN_FAILED' })
  t.equal(second.socksCounters.connections, 0)
})
