/**
 * Why the front door uses only socksv5's greeting parser: the behaviours of socksv5 0.0.6 that
 * made us write our own request and RFC 1929 decoders and our own server loop, pinned here.
 * If an upgrade fixes one of them, its test fails: reconsider using that part of the library.
 */
import { createRequire } from 'node:module'
import { connect } from 'node:net'
import type { AddressInfo } from 'node:net'
import { PassThrough } from 'node:stream'
import t from 'tap'
import Socksv5Parser from 'socksv5/lib/server.parser.js'
import { ipv6Request, userPassRequest } from './harness.js'

const require = createRequire(import.meta.url)

t.test('what we use: the greeting parser hands back the bytes after the greeting', async (t) => {
  const stream = new PassThrough()
  const parser = new Socksv5Parser(stream)
  const methods = new Promise<Buffer>((resolve) => parser.once('methods', resolve))
  stream.write(Buffer.from([0x05, 0x02, 0x00, 0x02, 0xaa, 0xbb]))
  t.same([...await methods], [0x00, 0x02])
  t.same(stream.read(), Buffer.from([0xaa, 0xbb]), 'the bytes after the greeting are back in the paused stream')
})

t.test('limit: its request parser formats IPv6 wrongly (2001:db8::1 becomes another address)', async (t) => {
  const stream = new PassThrough()
  const parser = new Socksv5Parser(stream)
  parser.authed = true // skip to the request, as socksv5's Server does after authentication
  const request = new Promise<{ dstAddr: string }>((resolve) => parser.once('request', resolve))
  stream.write(ipv6Request([0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 1], 80))
  t.equal((await request).dstAddr, '201:db8:00:00:00:00:00:01', 'bytes printed without zero padding')
})

t.test('limit: its RFC 1929 handler refuses an empty password (curl -U name:, PySocks username-only)', async (t) => {
  const UserPassword = require('socksv5/lib/auth/UserPassword.js') as (check: (u: string, p: string, ok: (v: boolean) => void) => void) =>
    { server: (stream: PassThrough, done: (result: boolean | Error) => void) => void }
  const stream = new PassThrough()
  const result = new Promise<boolean | Error>((resolve) => UserPassword((_u, _p, ok) => ok(true)).server(stream, resolve))
  stream.write(userPassRequest('isolation-key', ''))
  const outcome = await result
  t.type(outcome, Error)
  t.match((outcome as Error).message, /password length/)
})

t.test('limit: its Server answers BIND with a truncated 2-byte reply', async (t) => {
  const socksv5 = require('socksv5') as { createServer: (listener: (...args: unknown[]) => void) => import('node:net').Server & { useAuth: (a: unknown) => void }, auth: { None: () => unknown } }
  const server = socksv5.createServer(() => {})
  server.useAuth(socksv5.auth.None())
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1')
  t.teardown(() => client.destroy())
  const received: Buffer[] = []
  client.on('data', (chunk: Buffer) => received.push(chunk))
  client.write(Buffer.from([0x05, 0x01, 0x00, 0x05, 0x02, 0x00, 0x01, 127, 0, 0, 1, 0, 80]))
  await new Promise((resolve) => client.once('close', resolve))
  t.same(Buffer.concat(received), Buffer.from([0x05, 0x00, 0x05, 0x07]), 'method selection, then only VER and REP: no RSV, ATYP, BND')
})
