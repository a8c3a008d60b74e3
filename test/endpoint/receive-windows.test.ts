/**
 * The receiving side of flow control (PROTOCOL.md §7.1), on the endpoint code the client and
 * the exit share: credit goes back for cells delivered to the socket (or dropped with their
 * stream), never for cells merely received, and a peer that overruns the stream or the
 * circuit window has its stream ended with END(PROTOCOL). The sockets are HeldSocket, whose
 * reader the test stops and starts; everything else is the real CircuitStreams/StreamPipe.
 */
import t from 'tap'
import { CircuitStreams } from '../../src/endpoint/circuit-streams.js'
import { StreamViolation } from '../../src/endpoint/violations.js'
import { EndReason } from '../../src/protocol/end-reason.js'
import { CIRCUIT_SENDME_INCREMENT, CIRCUIT_WINDOW, flowWindows, SHAPED_WINDOWS, STREAM_SENDME_INCREMENT, STREAM_WINDOW, UNSHAPED_WINDOWS, type FlowWindows } from '../../src/protocol/flow-control.js'
import { CIRCUIT_STREAM, RelayCommand } from '../../src/protocol/relay-payload.js'
import { HeldSocket } from './held-socket.js'

interface Sent { readonly streamId: number, readonly command: RelayCommand, readonly data: Uint8Array | undefined }

function endpoint (windows?: FlowWindows): { streams: CircuitStreams, sent: Sent[], violations: StreamViolation[] } {
  const sent: Sent[] = []
  const violations: StreamViolation[] = []
  const streams = new CircuitStreams(100, {
    send: (streamId, command, data) => sent.push({ streamId, command, data }),
    control: () => {},
    violation: (what) => violations.push(what),
  }, windows)
  return { streams, sent, violations }
}

/** Open stream `id` on a socket whose reader has stopped (every write reports backpressure). */
function stalledStream (streams: CircuitStreams, id: number): HeldSocket {
  const socket = new HeldSocket(1)
  socket.hold()
  streams.open(id).attach(socket.asSocket())
  return socket
}

function deliver (streams: CircuitStreams, streamId: number, cells: number): void {
  for (let i = 0; i < cells; i++) {
    streams.handle({ streamId, command: RelayCommand.DATA, data: Uint8Array.of(streamId, i & 0xff) })
  }
}

const sendmes = (sent: readonly Sent[], streamId: number): number =>
  sent.filter((m) => m.command === RelayCommand.SENDME && m.streamId === streamId).length
const ends = (sent: readonly Sent[], streamId: number): number[] =>
  sent.filter((m) => m.command === RelayCommand.END && m.streamId === streamId).map((m) => m.data![0]!)
const tick = async (): Promise<void> => await new Promise((resolve) => setImmediate(resolve))

t.test('circuit credit goes back for delivered cells, not received ones', async (t) => {
  const { streams, sent, violations } = endpoint()
  const socket = stalledStream(streams, 1)
  deliver(streams, 1, 150)
  await tick()
  t.equal(sendmes(sent, CIRCUIT_STREAM), 0, 'no circuit SENDME while the 150 cells wait in the socket')
  t.equal(sendmes(sent, 1), 0, 'no stream SENDME either')

  socket.release()
  await tick()
  t.equal(socket.written.length, 150, 'every cell reached the socket')
  t.equal(sendmes(sent, CIRCUIT_STREAM), Math.floor(150 / CIRCUIT_SENDME_INCREMENT), 'circuit credit once delivered')
  t.equal(sendmes(sent, 1), Math.floor(150 / STREAM_SENDME_INCREMENT), 'stream credit once delivered')
  t.same(violations, [])
})

t.test('a peer overrunning the circuit window has its stream ended; the others go on', async (t) => {
  const { streams, sent, violations } = endpoint()
  const sockets = [stalledStream(streams, 1), stalledStream(streams, 2), stalledStream(streams, 3)]
  // Within every stream window (500), and exactly the circuit window (1000) in all.
  deliver(streams, 1, 400)
  deliver(streams, 2, 400)
  deliver(streams, 3, CIRCUIT_WINDOW - 800)
  t.same(violations, [], 'a full window is allowed')
  t.equal(sendmes(sent, CIRCUIT_STREAM), 0)

  deliver(streams, 3, 1)
  t.same(violations, [StreamViolation.CIRCUIT_WINDOW_OVERRUN], 'one cell beyond it is an overrun')
  t.same(ends(sent, 3), [EndReason.PROTOCOL], 'its stream is ended with END(PROTOCOL)')
  t.same(ends(sent, 1), [], 'stream 1 lives')
  t.same(ends(sent, 2), [], 'stream 2 lives')
  t.ok(streams.has(1) && streams.has(2) && !streams.has(3))
  t.equal(sockets[2]!.destroyed, true, 'the overrun stream\'s socket is closed')

  // Stream 3's 200 dropped cells and stream 1's 400 delivered ones give credit back.
  sockets[0]!.release()
  await tick()
  t.equal(sendmes(sent, CIRCUIT_STREAM), 6, '600 cells left memory: 6 circuit SENDMEs')
  deliver(streams, 2, 100)
  t.same(violations, [StreamViolation.CIRCUIT_WINDOW_OVERRUN], 'the returned credit is usable')
})

t.test('a peer overrunning a stream window has that stream ended', async (t) => {
  const { streams, sent, violations } = endpoint()
  stalledStream(streams, 1)
  deliver(streams, 1, STREAM_WINDOW)
  t.same(violations, [])
  deliver(streams, 1, 1)
  t.same(violations, [StreamViolation.STREAM_WINDOW_OVERRUN])
  t.same(ends(sent, 1), [EndReason.PROTOCOL])
})

t.test('cells dropped with a reset stream, or sent after it, still return circuit credit', async (t) => {
  const { streams, sent } = endpoint()
  stalledStream(streams, 1)
  deliver(streams, 1, 150)
  t.equal(sendmes(sent, CIRCUIT_STREAM), 0)
  streams.handle({ streamId: 1, command: RelayCommand.END, data: Uint8Array.of(EndReason.DONE) })
  t.equal(sendmes(sent, CIRCUIT_STREAM), 1, 'the 150 cells in the closed socket count as done')
  deliver(streams, 1, 50) // in flight when the END was sent: dropped at once
  t.equal(sendmes(sent, CIRCUIT_STREAM), 2, '200 cells done: no credit leaks')
})

t.test('a socket that keeps up gets credit back as cells arrive', async (t) => {
  const { streams, sent, violations } = endpoint()
  const socket = new HeldSocket()
  streams.open(1).attach(socket.asSocket())
  // Twice the circuit window: fine, because credit comes back as the cells are delivered.
  for (let sent = 0; sent < 2 * CIRCUIT_WINDOW; sent += STREAM_SENDME_INCREMENT) {
    deliver(streams, 1, STREAM_SENDME_INCREMENT)
    await tick()
  }
  t.same(violations, [])
  t.equal(sendmes(sent, CIRCUIT_STREAM), 2 * CIRCUIT_WINDOW / CIRCUIT_SENDME_INCREMENT)
  t.equal(socket.written.length, 2 * CIRCUIT_WINDOW)
})

t.test('profile off: the larger windows are granted and enforced (bandwidth-delay product, §7.1)', async (t) => {
  t.equal(flowWindows('off'), UNSHAPED_WINDOWS)
  t.equal(flowWindows('elastic'), SHAPED_WINDOWS)
  t.equal(flowWindows('strict'), SHAPED_WINDOWS)
  const { streams, sent, violations } = endpoint(UNSHAPED_WINDOWS)
  const socket = stalledStream(streams, 1)
  deliver(streams, 1, UNSHAPED_WINDOWS.stream)
  t.same(violations, [], 'a whole off stream window (4x the shaped one) is accepted')
  deliver(streams, 1, 1)
  t.same(violations, [StreamViolation.STREAM_WINDOW_OVERRUN], 'one cell beyond it is an overrun')
  socket.release()
  await tick()
  t.equal(sendmes(sent, 1), 0, 'the overrun stream was ended: no stream credit')
  t.equal(sendmes(sent, CIRCUIT_STREAM), Math.floor((UNSHAPED_WINDOWS.stream + 1) / UNSHAPED_WINDOWS.circuitIncrement), 'circuit credit in the off increment')
})
