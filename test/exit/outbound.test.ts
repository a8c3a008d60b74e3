/**
 * openOutbound end to end on loopback: resolve (through a test DNS server on 127.0.0.1),
 * check every address, connect only to the checked literal. Every connection in this
 * file goes to 127.0.0.1; other addresses appear only as DNS answers that the policy
 * refuses before any connect.
 */
import { spawn } from 'node:child_process'
import net from 'node:net'
import t, { type Test } from 'tap'
import { EndReason } from '../../src/protocol/end-reason.js'
import { openOutbound, type OutboundOptions } from '../../src/exit/outbound.js'
import { onChunks } from '../../src/base/socket-reads.js'
import { buildExitPolicy } from '../../src/exit/policy.js'
import { PinnedResolver, type HostResolver } from '../../src/exit/resolver.js'
import { startDnsServer } from './helpers/dns-server.js'

const loopbackOpen = buildExitPolicy({ operatorRules: ['accept 127.0.0.1:*'], cascadeAddresses: [] })
const defaultPolicy = buildExitPolicy({ operatorRules: [], cascadeAddresses: [] })

interface Harness {
  resolver: PinnedResolver
  questions: () => number
  port: number
  /** Connections the server accepted so far, counted exactly (see below). */
  accepted: () => Promise<number>
}

/** An echo server on 127.0.0.1 and a DNS server naming it; both closed at teardown. */
async function harness (t: Test): Promise<Harness> {
  const dns = await startDnsServer({
    'loop.mixgate.example': { a: ['127.0.0.1'] },
    'dual.mixgate.example': { a: ['127.0.0.1'], aaaa: ['::1'] },
    'rebind.mixgate.example': { a: ['127.0.0.1', '10.0.0.1'] },
  })
  t.teardown(() => dns.close())
  const sockets = new Set<net.Socket>()
  let accepted = 0
  const server = net.createServer((socket) => {
    accepted++
    sockets.add(socket)
    socket.on('error', () => {})
    socket.pipe(socket)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => server.close(resolve))
  })
  return {
    resolver: new PinnedResolver({ servers: [dns.server], timeoutMs: 2000 }),
    questions: () => dns.questions.length,
    port: (server.address() as net.AddressInfo).port,
    // The server accepts in arrival order, so once a probe connection of our own has been
    // served, every earlier connection has been counted too.
    accepted: async () => {
      const probe = net.connect({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port })
      probe.on('error', () => {})
      await new Promise((resolve) => probe.once('connect', resolve))
      await echo(probe, 'probe')
      probe.destroy()
      return accepted - 1
    },
  }
}

async function open (t: Test, options: OutboundOptions): ReturnType<typeof openOutbound> {
  const result = await openOutbound(options)
  if (result.ok) t.teardown(() => { result.socket.destroy() })
  return result
}

/** The socket reads into the thread's shared buffer, so it is read as the exit reads it. */
async function echo (socket: net.Socket, text: string): Promise<string> {
  socket.write(text)
  return await new Promise((resolve) => {
    const stop = onChunks(socket, (chunk) => { stop(); resolve(Buffer.from(chunk).toString()) })
  })
}

t.test('connects to a local server the policy allows, by literal and by name', async (t) => {
  const h = await harness(t)
  const byLiteral = await open(t, { host: '127.0.0.1', port: h.port, policy: loopbackOpen, resolver: h.resolver, connectTimeoutMs: 2000 })
  if (!byLiteral.ok) throw new Error(`refused: ${byLiteral.reason}`)
  t.equal(byLiteral.address, '127.0.0.1')
  t.equal(byLiteral.socket.remotePort, h.port)
  t.equal(byLiteral.socket.listenerCount('error'), 0, 'no listeners of ours left behind')
  byLiteral.socket.on('error', () => {})
  t.equal(await echo(byLiteral.socket, 'ping'), 'ping', 'the stream works')

  const byName = await open(t, { host: 'loop.mixgate.example', port: h.port, policy: loopbackOpen, resolver: h.resolver, connectTimeoutMs: 2000 })
  t.ok(byName.ok, 'a name resolving to an allowed address connects')
  if (byName.ok) t.equal(byName.address, '127.0.0.1', 'to the checked literal')
  t.equal(await h.accepted(), 2, 'both connections reached the server')
})

t.test('the default policy refuses loopback with EXIT_POLICY, and never connects', async (t) => {
  const h = await harness(t)
  const base = { port: h.port, policy: defaultPolicy, resolver: h.resolver, connectTimeoutMs: 2000 }
  t.same(await open(t, { ...base, host: '127.0.0.1' }), { ok: false, reason: EndReason.EXIT_POLICY })
  t.same(await open(t, { ...base, host: 'localhost' }), { ok: false, reason: EndReason.EXIT_POLICY })
  t.same(await open(t, { ...base, host: '::ffff:7f00:1' }), { ok: false, reason: EndReason.EXIT_POLICY })
  t.same(await open(t, { ...base, host: 'loop.mixgate.example' }), { ok: false, reason: EndReason.EXIT_POLICY },
    'a name resolving to 127.0.0.1')
  t.equal(await h.accepted(), 0, 'no connection reached the server')
})

t.test('only the answers the policy allows are ever connected to (rebinding, dual stack)', async (t) => {
  const h = await harness(t)
  const base = { port: h.port, policy: loopbackOpen, resolver: h.resolver, connectTimeoutMs: 2000 }
  for (const host of ['rebind.mixgate.example', 'dual.mixgate.example', 'localhost']) {
    const result = await open(t, { ...base, host })
    t.ok(result.ok, `${host} connects`)
    if (result.ok) t.equal(result.address, '127.0.0.1', `${host}: only the allowed 127.0.0.1 was used, never 10.0.0.1 or ::1`)
  }
  t.equal(await h.accepted(), 3, 'each reached the loopback server once')
  const closed = buildExitPolicy({ operatorRules: [], cascadeAddresses: [] })
  t.same(await open(t, { ...base, policy: closed, host: 'rebind.mixgate.example' }), { ok: false, reason: EndReason.EXIT_POLICY },
    'no answer allowed: one EXIT_POLICY reason')
})

t.test('a closed loopback port gives CONNECT_REFUSED', async (t) => {
  const h = await harness(t)
  const closed = net.createServer()
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
  const port = (closed.address() as net.AddressInfo).port
  await new Promise((resolve) => closed.close(resolve))
  t.same(await open(t, { host: '127.0.0.1', port, policy: loopbackOpen, resolver: h.resolver, connectTimeoutMs: 2000 }),
    { ok: false, reason: EndReason.CONNECT_REFUSED })
})

t.test('an unknown name gives RESOLVE_FAILED', async (t) => {
  const h = await harness(t)
  t.same(await open(t, { host: 'nowhere.mixgate.example', port: h.port, policy: loopbackOpen, resolver: h.resolver, connectTimeoutMs: 2000 }),
    { ok: false, reason: EndReason.RESOLVE_FAILED })
})

t.test('a port outside 1..65535 is refused with EXIT_POLICY before resolving', async (t) => {
  const h = await harness(t)
  for (const port of [0, -1, 65536, 80.5]) {
    t.same(await open(t, { host: 'loop.mixgate.example', port, policy: loopbackOpen, resolver: h.resolver, connectTimeoutMs: 2000 }),
      { ok: false, reason: EndReason.EXIT_POLICY }, `port ${port}`)
  }
  t.equal(h.questions(), 0, 'no query sent')
})

t.test('a resolver answer that is not an IP literal is refused, never connected to', async (t) => {
  const h = await harness(t)
  const lying: HostResolver = { resolve: async () => ({ ok: true, addresses: ['localhost'] }) }
  const empty: HostResolver = { resolve: async () => ({ ok: true, addresses: [] }) }
  const everything = buildExitPolicy({ operatorRules: ['accept *:*'], cascadeAddresses: [] })
  t.same(await open(t, { host: 'x.example', port: h.port, policy: everything, resolver: lying, connectTimeoutMs: 2000 }),
    { ok: false, reason: EndReason.EXIT_POLICY })
  t.same(await open(t, { host: 'x.example', port: h.port, policy: everything, resolver: empty, connectTimeoutMs: 2000 }),
    { ok: false, reason: EndReason.RESOLVE_FAILED })
  t.equal(await h.accepted(), 0, 'no connection reached the server')
})

t.test('an aborted signal ends the attempt with DONE', async (t) => {
  const h = await harness(t)
  const controller = new AbortController()
  controller.abort()
  t.same(await open(t, { host: '127.0.0.1', port: h.port, policy: loopbackOpen, resolver: h.resolver, connectTimeoutMs: 2000, signal: controller.signal }),
    { ok: false, reason: EndReason.DONE })
})

// A listener in another process whose event loop is blocked never accepts: once its small
// accept queue is full, the kernel drops new SYNs and a connect can only time out.
const BLOCKED_LISTENER = `
const net = require('node:net')
const fs = require('node:fs')
const server = net.createServer().listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
  fs.writeSync(1, server.address().port + '\\n')
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20000)
  process.exit(0)
})`

t.test('a handshake that cannot complete in time gives TIMEOUT', async (t) => {
  const h = await harness(t)
  const child = spawn(process.execPath, ['-e', BLOCKED_LISTENER], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => { child.kill('SIGKILL') })
  const port = await new Promise<number>((resolve) => child.stdout.once('data', (data) => resolve(Number(String(data).trim()))))
  const outcomes: number[] = []
  // The first few connects fill the accept queue; then one must time out (bounded: 8 tries).
  for (let i = 0; i < 8 && !outcomes.includes(EndReason.TIMEOUT); i++) {
    const result = await open(t, { host: '127.0.0.1', port, policy: loopbackOpen, resolver: h.resolver, connectTimeoutMs: 300 })
    outcomes.push(result.ok ? 0 : result.reason)
  }
  t.ok(outcomes.includes(EndReason.TIMEOUT), 'a connect timed out')
  t.ok(outcomes.every((o) => o === 0 || o === EndReason.TIMEOUT), 'the others connected')
})
