/**
 * What a listener refuses, each closed on its own, counted and reported, while it keeps
 * serving: a KK initiator with the wrong key, a wrong prologue, garbage, a silent connection,
 * a non-empty NK payload. And what a dialer reports: timeouts, refused connections, bad options.
 */
import t from 'tap'
import { createServer, type AddressInfo, type Socket } from 'node:net'
import { once } from 'node:events'
import { cryptoReady, randomBytes, x25519KeyPair } from '../../src/crypto/index.js'
import { dialLink, listenLinks, LinkError } from '../../src/link/index.js'
import { HandshakeState } from '../../src/link/noise/handshake.js'
import { PROLOGUE, cell, cellNumber, closed, collect, dial, dialOptions, listen, peers, rawConnect } from './loopback.js'

await cryptoReady()

/** The LinkError code a promise rejects with ('resolved' if it does not). */
async function codeOf (promise: Promise<unknown>): Promise<string> {
  try {
    await promise
    return 'resolved'
  } catch (err) {
    return err instanceof LinkError ? err.code : String(err)
  }
}

t.test('KK: an initiator holding another static key is refused with LINK_PEER_NOT_ALLOWED', async (t) => {
  const p = peers('KK')
  const { listener, rejects } = await listen(t, p)
  const port = listener.address().port
  t.equal(await codeOf(dialLink(dialOptions(p, port, { localStatic: x25519KeyPair() }))), 'LINK_HANDSHAKE_FAILED', 'the dialer fails')
  t.equal((await rejects.next()).code, 'LINK_PEER_NOT_ALLOWED', 'the listener reports the peer as not allowed')
  t.equal(listener.stats.peersNotAllowed, 1)
  t.equal(await codeOf(dialLink(dialOptions(p, port, { remoteStatic: x25519KeyPair().publicKey }))), 'LINK_HANDSHAKE_FAILED', 'dialing with the wrong responder key fails too')
  t.equal((await rejects.next()).code, 'LINK_PEER_NOT_ALLOWED')
  await dial(t, p, port)
  t.equal(listener.stats.links, 1, 'the right initiator still gets in')
})

for (const pattern of ['NK', 'KK'] as const) {
  t.test(`${pattern}: a prologue mismatch fails the handshake on both sides`, async (t) => {
    const p = peers(pattern)
    const { listener, rejects } = await listen(t, p)
    const other = Uint8Array.from(PROLOGUE)
    other[other.length - 1] = 3 // another position in the cascade
    t.equal(await codeOf(dialLink(dialOptions(p, listener.address().port, { prologue: other }))), 'LINK_HANDSHAKE_FAILED')
    const refused = await rejects.next()
    t.equal(refused.code, pattern === 'NK' ? 'LINK_HANDSHAKE_FAILED' : 'LINK_PEER_NOT_ALLOWED')
    t.equal(listener.stats.links, 0)
  })
}

t.test('garbage on the port closes that connection only; the listener keeps serving', async (t) => {
  const p = peers('NK')
  const { listener, rejects } = await listen(t, p)
  const port = listener.address().port
  const healthy = await dial(t, p, port)
  const junk = await rawConnect(t, port)
  const junkClosed = closed(junk)
  junk.write(randomBytes(200))
  await junkClosed
  t.equal((await rejects.next()).code, 'LINK_HANDSHAKE_FAILED')
  // A small-order "ephemeral key": refused without crashing anything.
  const zeros = await rawConnect(t, port)
  const zerosClosed = closed(zeros)
  zeros.write(new Uint8Array(48))
  await zerosClosed
  t.equal((await rejects.next()).code, 'LINK_HANDSHAKE_FAILED')
  t.match(listener.stats, { connections: 3, links: 1, handshakeTimeouts: 0, handshakeFailures: 2, peersNotAllowed: 0, refusedRate: 0, refusedHandshakes: 0 })
  const second = await dial(t, p, port)
  t.ok(!second.closed && !healthy.closed, 'new and old links are fine')
})

t.test('a silent connection is closed at the handshake deadline and counted', async (t) => {
  const p = peers('KK')
  const { listener, rejects } = await listen(t, p, { handshakeTimeoutMs: 200 })
  const silent = await rawConnect(t, listener.address().port)
  await closed(silent)
  t.equal((await rejects.next()).code, 'LINK_HANDSHAKE_TIMEOUT')
  t.equal(listener.stats.handshakeTimeouts, 1)
})

t.test('a peer that closes mid-handshake is refused', async (t) => {
  const p = peers('NK')
  const { listener, rejects } = await listen(t, p)
  const half = await rawConnect(t, listener.address().port)
  half.end(new Uint8Array(20))
  t.equal((await rejects.next()).code, 'LINK_HANDSHAKE_FAILED')
})

t.test('NK: a first message with a payload is refused (message 1 must be empty)', async (t) => {
  const p = peers('NK')
  const { listener, rejects } = await listen(t, p)
  const eager = new HandshakeState({ pattern: 'NK', initiator: true, prologue: PROLOGUE, rs: p.server.publicKey, allowPayloads: true })
  const socket = await rawConnect(t, listener.address().port)
  const socketClosed = closed(socket)
  socket.write(eager.writeMessage(Uint8Array.of(1, 2, 3)))
  await socketClosed
  t.equal((await rejects.next()).code, 'LINK_HANDSHAKE_FAILED')
  t.equal(listener.stats.links, 0)
})

t.test('dialer: a silent responder times out, a closed port fails to connect', async (t) => {
  const p = peers('NK')
  const accepted: Socket[] = []
  const mute = createServer((s) => accepted.push(s))
  mute.listen(0, '127.0.0.1')
  await once(mute, 'listening')
  t.teardown(() => { for (const s of accepted) s.destroy(); mute.close() })
  const mutePort = (mute.address() as AddressInfo).port
  t.equal(await codeOf(dialLink(dialOptions(p, mutePort, { handshakeTimeoutMs: 200 }))), 'LINK_HANDSHAKE_TIMEOUT')

  const gone = createServer()
  gone.listen(0, '127.0.0.1')
  await once(gone, 'listening')
  const gonePort = (gone.address() as AddressInfo).port
  await new Promise(resolve => gone.close(resolve))
  t.equal(await codeOf(dialLink(dialOptions(p, gonePort))), 'LINK_CONNECT_FAILED')
})

t.test('bad options are refused before any socket opens', async (t) => {
  const p = peers('KK')
  const base = dialOptions(p, 1)
  t.equal(await codeOf(dialLink({ ...base, cellSize: 65520 })), 'LINK_BAD_OPTIONS', 'a frame must fit one Noise message')
  t.equal(await codeOf(dialLink({ ...base, remoteStatic: new Uint8Array(31) })), 'LINK_BAD_OPTIONS')
  t.equal(await codeOf(dialLink({ ...base, localStatic: undefined })), 'LINK_BAD_OPTIONS', 'KK needs our static key')
  t.equal(await codeOf(dialLink({ ...dialOptions(peers('NK'), 1), localStatic: p.client })), 'LINK_BAD_OPTIONS', 'NK has none')
  t.equal(await codeOf(dialLink({ ...base, handshakeTimeoutMs: 0 })), 'LINK_BAD_OPTIONS')
  t.equal(await codeOf(dialLink({ ...base, pattern: 'XX' as 'KK' })), 'LINK_BAD_OPTIONS')
  const listenBase = { host: '127.0.0.1', port: 0, cellSize: 256, prologue: PROLOGUE, localStatic: p.server, onLink: () => {} }
  t.equal(await codeOf(listenLinks({ ...listenBase, pattern: 'KK' })), 'LINK_BAD_OPTIONS', 'KK listener needs the pinned initiator')
  t.equal(await codeOf(listenLinks({ ...listenBase, pattern: 'NK', allowedInitiator: p.client.publicKey })), 'LINK_BAD_OPTIONS', 'NK cannot pin')
  const taken = await listen(t, peers('NK'))
  t.equal(await codeOf(listenLinks({ ...listenBase, pattern: 'NK', port: taken.port })), 'LINK_LISTEN_FAILED', 'port in use')
})

t.test('many links on one listener stay independent', async (t) => {
  const p = peers('KK')
  const { links, listener } = await listen(t, p)
  const clients = await Promise.all(Array.from({ length: 8 }, () => dial(t, p, listener.address().port)))
  const servers = await Promise.all(clients.map(() => links.next()))
  // Pair each client with its server end by the handshake hash (accept order may differ).
  const got = await Promise.all(clients.map((client, i) => {
    const server = servers.find(s => Buffer.compare(s.handshakeHash, client.handshakeHash) === 0)!
    const arriving = collect(server, 1)
    client.send([cell(i)])
    return arriving
  }))
  t.same(got.map(cells => cellNumber(cells[0]!)), [0, 1, 2, 3, 4, 5, 6, 7], 'each cell reached its own link')
  t.equal(listener.stats.links, 8)
})
