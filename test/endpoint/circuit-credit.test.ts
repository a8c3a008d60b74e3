/**
 * The sending side of circuit credit (PROTOCOL.md §7.1), on the endpoint code the client and
 * the exit share: a stream that finds the circuit window spent waits, and a circuit SENDME
 * wakes the waiting streams in the order they began to wait (round robin), each taking what
 * credit is left; a stream that closes while it waits is forgotten at once. The sockets are
 * HeldSocket (test/endpoint/held-socket.ts); the rest is the real CircuitStreams/StreamPipe.
 */
import t from 'tap'
import { CircuitStreams } from '../../src/endpoint/circuit-streams.js'
import type { FlowWindows } from '../../src/protocol/flow-control.js'
import { CIRCUIT_STREAM, RelayCommand } from '../../src/protocol/relay-payload.js'
import { HeldSocket } from './held-socket.js'

/** Small windows, so that a few cells spend the circuit's credit. */
const WINDOWS: FlowWindows = { circuit: 4, circuitIncrement: 2, stream: 10, streamIncrement: 5 }
const DATA_BYTES = 100
const tick = async (): Promise<void> => await new Promise((resolve) => setImmediate(resolve))

t.test('streams without circuit credit wait, and a SENDME wakes them in turn; a closed one is forgotten', async (t) => {
  const dataFrom: number[] = []
  const streams = new CircuitStreams(DATA_BYTES, {
    send: (streamId, command) => { if (command === RelayCommand.DATA) dataFrom.push(streamId) },
    control: () => {},
  }, WINDOWS)
  const sockets = new Map<number, HeldSocket>()
  for (const id of [1, 2, 3]) {
    const socket = new HeldSocket()
    streams.open(id).attach(socket.asSocket())
    sockets.set(id, socket)
  }
  const appSends = async (id: number, cells: number): Promise<void> => {
    sockets.get(id)!.push(Buffer.alloc(cells * DATA_BYTES, id))
    await tick()
  }

  await appSends(1, 4)
  t.same(dataFrom, [1, 1, 1, 1], 'stream 1 spends the whole circuit window')
  await appSends(1, 1)
  await appSends(2, 1)
  await appSends(3, 1)
  t.equal(dataFrom.length, 4, 'nothing more leaves without credit')
  t.equal(streams.waitingForCredit, 3, 'three streams wait for it')

  streams.get(3)!.close(null, false)
  t.equal(streams.waitingForCredit, 2, 'a stream that closes while waiting is forgotten')

  streams.handle({ streamId: CIRCUIT_STREAM, command: RelayCommand.SENDME, data: new Uint8Array(0) })
  t.same(dataFrom.slice(4), [1, 2], 'one SENDME (2 cells): the waiting streams in the order they began to wait')
  t.equal(streams.waitingForCredit, 0, 'none left waiting: each had one cell')
})

t.test('credit runs out again while waking: the rest keep their turn', async (t) => {
  const dataFrom: number[] = []
  const streams = new CircuitStreams(DATA_BYTES, {
    send: (streamId, command) => { if (command === RelayCommand.DATA) dataFrom.push(streamId) },
    control: () => {},
  }, WINDOWS)
  const sockets = [1, 2, 3, 4].map((id) => {
    const socket = new HeldSocket()
    streams.open(id).attach(socket.asSocket())
    return socket
  })
  sockets[0]!.push(Buffer.alloc(4 * DATA_BYTES))
  await tick()
  // Streams 2, 3 and 4 wait with two cells each.
  for (const socket of sockets.slice(1)) { socket.push(Buffer.alloc(2 * DATA_BYTES)); await tick() }
  t.equal(streams.waitingForCredit, 3)

  const sendme = (): void => streams.handle({ streamId: CIRCUIT_STREAM, command: RelayCommand.SENDME, data: new Uint8Array(0) })
  sendme()
  t.same(dataFrom.slice(4), [2, 2], 'stream 2 takes both cells of credit')
  sendme()
  t.same(dataFrom.slice(6), [3, 3], 'then stream 3: those not reached kept their place')
  sendme()
  t.same(dataFrom.slice(8), [4, 4], 'then stream 4')
  t.equal(streams.waitingForCredit, 0)
})
