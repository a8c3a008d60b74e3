/**
 * Junk on every port of a running cascade — the entry's and later mixes' link listeners,
 * the exit's, the client's SOCKS port: garbage bytes, a connection that closes half way,
 * and a connection that stays silent. Each costs one connection, is closed and counted,
 * and curl through the same cascade keeps working meanwhile.
 */
import t, { type Test } from 'tap'
import { execFile } from 'node:child_process'
import type { Socket } from 'node:net'
import { promisify } from 'node:util'
import { cryptoReady, randomBytes } from '../../src/crypto/index.js'
import type { LinkListener } from '../../src/link/listen.js'
import { startCascade, waitFor } from '../helpers/cascade.js'
import { openSocket } from '../helpers/raw-socks.js'
import { startHttpTarget } from '../helpers/targets.js'

await cryptoReady()
const run = promisify(execFile)

const http = await startHttpTarget(t)
const cascade = await startCascade()
t.teardown(() => cascade.stop())

const listeners: { name: string, listener: LinkListener, port: number }[] = [
  ...cascade.mixes.map((mix, i) => ({ name: `mix ${i + 1}`, listener: mix.listener, port: cascade.cascade.hops[i]!.address.port })),
  { name: 'exit', listener: cascade.exit.listener, port: cascade.cascade.hops[cascade.mixes.length]!.address.port },
]

/** Resolves when the peer ends or resets the connection (then it is destroyed here too). */
function closed (socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => { socket.destroy(); resolve() }
    if (socket.destroyed || socket.readableEnded) { done(); return }
    socket.on('error', () => {})
    socket.resume() // read (and drop) whatever the peer answers, so its FIN is seen
    socket.once('end', done)
    socket.once('close', done)
  })
}

async function curlWorks (t: Test, path: string): Promise<void> {
  const { stdout } = await run('curl', ['-sS', '--max-time', '20', '--socks5-hostname', `127.0.0.1:${cascade.socksPort}`, `http://localhost:${http.port}${path}`])
  t.equal(stdout, `hello ${path}\n`, 'curl through the cascade works')
}

// Silent connections are opened first, so their handshake deadline runs while the rest goes on.
const silentLinks = await Promise.all(listeners.map(async ({ port }) => await openSocket(port)))
const silentSocks = await openSocket(cascade.socksPort)
const silentClosed = silentLinks.map(closed)
t.teardown(() => { for (const s of [...silentLinks, silentSocks]) s.destroy() })

t.test('garbage bytes on every link listener: the connection is refused and counted', async (t) => {
  for (const { name, listener, port } of listeners) {
    const before = listener.stats
    const socket = await openSocket(port)
    socket.write(randomBytes(500)) // more than a handshake message: the first 48 bytes are refused
    await closed(socket)
    const after = listener.stats
    const refused = (after.handshakeFailures + after.peersNotAllowed) - (before.handshakeFailures + before.peersNotAllowed)
    t.equal(refused, 1, `${name}: one refused handshake`)
    t.equal(after.links, before.links, `${name}: no link came of it`)
  }
  await curlWorks(t, '/after-link-garbage')
})

t.test('a connection that sends half a handshake message and closes: counted, nothing else', async (t) => {
  for (const { name, listener, port } of listeners) {
    const before = listener.stats.handshakeFailures + listener.stats.peersNotAllowed
    const socket = await openSocket(port)
    socket.end(randomBytes(20))
    await closed(socket)
    await waitFor(() => listener.stats.handshakeFailures + listener.stats.peersNotAllowed === before + 1, `${name} to count it`)
    t.pass(`${name}: counted`)
  }
  await curlWorks(t, '/after-truncated')
})

t.test('garbage on the SOCKS port: that connection is answered or closed, counted, and curl goes on', async (t) => {
  const front = cascade.client.node
  const before = Object.values(front.socksCounters.errors).reduce((a, b) => a + b, 0)
  const built = front.stats.circuitsBuilt
  const requested = front.stats.streamsRequested
  const http1 = await openSocket(cascade.socksPort)
  http1.write('GET / HTTP/1.1\r\nHost: example\r\n\r\n') // an app that forgot it is talking to a proxy
  const junk = await openSocket(cascade.socksPort)
  junk.write(Buffer.concat([Buffer.from([0x16, 0x03, 0x01]), randomBytes(297)])) // TLS to a SOCKS port
  const badCommand = await openSocket(cascade.socksPort)
  badCommand.write(Buffer.from([0x05, 0x01, 0x00, 0x05, 0x02, 0x00, 0x01, 127, 0, 0, 1, 0, 80])) // BIND
  await Promise.all([closed(http1), closed(junk), closed(badCommand)])
  const after = Object.values(front.socksCounters.errors).reduce((a, b) => a + b, 0)
  t.equal(after - before, 3, 'three SOCKS errors counted')
  t.equal(front.stats.streamsRequested, requested, 'no stream was requested')
  t.equal(front.stats.circuitsBuilt, built, 'no circuit was built for junk')
  await curlWorks(t, '/after-socks-garbage')
})

t.test('silent connections: they never block others; link listeners close them at the handshake deadline', async (t) => {
  t.ok(cascade.client.node.socksCounters.pending >= 1, 'the silent SOCKS connection is waiting (its deadline is 10 s; not awaited)')
  await curlWorks(t, '/while-silent')
  await Promise.all(silentClosed)
  for (const { name, listener } of listeners) t.equal(listener.stats.handshakeTimeouts, 1, `${name}: one handshake timeout`)
  await curlWorks(t, '/after-silent')
  for (const mix of cascade.mixes) t.equal(mix.node.stats.relayAuthFailures, 0)
})
