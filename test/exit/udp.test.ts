/**
 * UDP associations at the exit (PROTOCOL.md §7.3, §11.3), through a real exit and mix on
 * loopback with a hand-made client: ASSOCIATE is answered CONNECTED; a DATAGRAM to an
 * allowed destination leaves from the exit's own UDP socket and the answer comes back named
 * as the client named it (a name stays a name); a refused destination, or a datagram from a
 * host the association never sent to, is dropped and counted; an idle association ends with
 * END(DONE), and its sockets are closed (the outbound slots come back); a circuit over its
 * association cap gets END(RESOURCE_LIMIT), and an ended association frees its place.
 */
import t from 'tap'
import dgram from 'node:dgram'
import { cryptoReady } from '../../src/crypto/index.js'
import { decodeDatagram, encodeDatagram } from '../../src/protocol/datagram.js'
import { EndReason } from '../../src/protocol/end-reason.js'
import { RelayCommand } from '../../src/protocol/relay-payload.js'
import { waitFor } from '../helpers/cascade.js'
import { startExitCascade, type RawStreams } from './helpers/exit-cascade.js'

await cryptoReady()

/** A UDP server on 127.0.0.1 that answers every datagram with `echo:` and the datagram. */
async function udpEcho (): Promise<{ port: number, peers: dgram.RemoteInfo[], socket: dgram.Socket }> {
  const socket = dgram.createSocket('udp4')
  const peers: dgram.RemoteInfo[] = []
  socket.on('message', (message, from) => {
    peers.push(from)
    socket.send(Buffer.concat([Buffer.from('echo:'), message]), from.port, from.address)
  })
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  t.teardown(() => socket.close())
  return { port: socket.address().port, peers, socket }
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s)

function datagrams (streams: RawStreams, streamId: number): Array<{ host: string, port: number, payload: string }> {
  return streams.received(streamId).filter((m) => m.command === RelayCommand.DATAGRAM).map((m) => {
    const d = decodeDatagram(m.data)
    return { host: d.host, port: d.port, payload: Buffer.from(d.payload).toString() }
  })
}

const c = await startExitCascade({ udp: { idleMs: 400, maxAssociationsPerCircuit: 2 } })
t.teardown(() => c.stop())
const stats = c.exit.node.exitStats

t.test('datagrams go out from the exit and answers come back, named as sent', async (t) => {
  const echo = await udpEcho()
  const streams = await c.open()
  streams.send(1, RelayCommand.ASSOCIATE)
  t.equal(await streams.answer(1), 'connected')
  streams.send(1, RelayCommand.DATAGRAM, encodeDatagram({ host: '127.0.0.1', port: echo.port }, text('one')))
  await waitFor(() => datagrams(streams, 1).length === 1, 'the first answer')
  streams.send(1, RelayCommand.DATAGRAM, encodeDatagram({ host: 'localhost', port: echo.port }, text('two')))
  await waitFor(() => datagrams(streams, 1).length === 2, 'the second answer')
  t.same(datagrams(streams, 1).map((d) => [d.host, d.port, d.payload]), [
    ['127.0.0.1', echo.port, 'echo:one'],
    ['localhost', echo.port, 'echo:two'],
  ], 'an answer is named as the client last named its host:port (a name stays a name)')
  t.equal(new Set(echo.peers.map((p) => p.port)).size, 1, 'one exit socket for both')
  t.equal(stats.datagramsToHosts, 2)
  t.equal(stats.datagramsFromHosts, 2)
})

t.test('refused destinations and strangers are dropped; the association goes on', async (t) => {
  const echo = await udpEcho()
  const stranger = dgram.createSocket('udp4')
  t.teardown(() => stranger.close())
  const streams = await c.open()
  streams.send(1, RelayCommand.ASSOCIATE)
  t.equal(await streams.answer(1), 'connected')
  const dropped = stats.datagramsDropped
  streams.send(1, RelayCommand.DATAGRAM, encodeDatagram({ host: '127.0.0.2', port: echo.port }, text('private')))
  streams.send(1, RelayCommand.DATAGRAM, encodeDatagram({ host: '127.0.0.1', port: c.mixPort }, text('a node')))
  streams.send(1, RelayCommand.DATAGRAM, encodeDatagram({ host: 'no-such.test', port: echo.port }, text('unknown')))
  await waitFor(() => stats.datagramsDropped >= dropped + 3, 'three drops')
  streams.send(1, RelayCommand.DATAGRAM, encodeDatagram({ host: '127.0.0.1', port: echo.port }, text('ok')))
  await waitFor(() => datagrams(streams, 1).length === 1, 'the allowed one answered')
  const exitPort = echo.peers.at(-1)!.port
  // Another host (a different port on loopback) writes to the exit's socket: never passed on.
  const before = stats.datagramsDropped
  stranger.send(Buffer.from('injected'), exitPort, '127.0.0.1')
  await waitFor(() => stats.datagramsDropped === before + 1, 'the stranger dropped')
  t.same(datagrams(streams, 1).map((d) => d.payload), ['echo:ok'])
  t.equal(echo.peers.length, 1, 'nothing refused reached the echo server')
})

t.test('a DATAGRAM on a TCP stream or a malformed one is a violation; an idle association ends', async (t) => {
  await waitFor(() => stats.outboundSockets.active === 0, 'the earlier associations to idle out')
  const streams = await c.open()
  const violations = stats.violations
  streams.send(2, RelayCommand.DATAGRAM, encodeDatagram({ host: '127.0.0.1', port: 9 }, text('x')))
  streams.send(1, RelayCommand.ASSOCIATE)
  t.equal(await streams.answer(1), 'connected')
  streams.send(1, RelayCommand.DATAGRAM, Uint8Array.of(1, 127, 0, 0, 1))
  await waitFor(() => stats.violations >= violations + 2, 'two violations')
  const sockets = stats.outboundSockets.active
  streams.send(1, RelayCommand.DATAGRAM, encodeDatagram({ host: '127.0.0.1', port: 9 }, text('opens a socket')))
  await waitFor(() => stats.outboundSockets.active === sockets + 1, 'the association\'s socket')
  await waitFor(() => streams.received(1).some((m) => m.command === RelayCommand.END), 'the idle END', 5000)
  t.equal(streams.received(1).find((m) => m.command === RelayCommand.END)!.data[0], EndReason.DONE)
  t.equal(stats.outboundSockets.active, sockets, 'its socket slot is back')
})

t.test('a circuit holds at most maxAssociationsPerCircuit associations', async (t) => {
  const streams = await c.open()
  for (const id of [1, 2, 3]) streams.send(id, RelayCommand.ASSOCIATE)
  t.equal(await streams.answer(1), 'connected')
  t.equal(await streams.answer(2), 'connected')
  t.equal(await streams.answer(3), EndReason.RESOURCE_LIMIT, 'the third is over the cap')
  t.equal(stats.refusedUdpAssociations, 1)
  streams.send(1, RelayCommand.END, Uint8Array.of(EndReason.DONE))
  streams.send(4, RelayCommand.ASSOCIATE)
  t.equal(await streams.answer(4), 'connected', 'an ended association frees its place')
  const other = await c.open()
  other.send(1, RelayCommand.ASSOCIATE)
  t.equal(await other.answer(1), 'connected', 'the cap is per circuit')
})

t.test('closing the circuit\'s streams closes every association socket', async (t) => {
  await c.stop()
  t.equal(stats.outboundSockets.active, 0)
})
