/**
 * The unshaped CircuitSender (src/client/unshaped-sender.ts) on a fake host: the cells of one
 * event-loop turn leave in one write (a new circuit's CREATE with its first relay cell: zero
 * round trips), every cell is a valid cell whose RELAY body the hops peel to the payload sent,
 * a young circuit is reused for its key and never for another, and a full client retires an
 * idle circuit with a DESTROY to make room; a key's streams beyond a circuit's bound go on
 * another circuit of that key, and at maxCircuits a stream is refused as `full` (issue #17).
 */
import t from 'tap'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { cryptoReady } from '../../src/crypto/index.js'
import type { BuiltCircuit, SenderHost } from '../../src/client/circuit-sender.js'
import { ClientCircuit } from '../../src/client/client-circuit.js'
import { ClientStats } from '../../src/client/client-stats.js'
import { UnshapedSender } from '../../src/client/unshaped-sender.js'
import { CircuitStreams } from '../../src/endpoint/circuit-streams.js'
import { CellCommand, decodeCell, DestroyReason } from '../../src/protocol/cell.js'
import { CIRCUIT_STREAM, decodeRelay, encodeRelay, RelayCommand } from '../../src/protocol/relay-payload.js'
import { UNSHAPED_STREAMS_PER_CIRCUIT } from '../../src/protocol/stream-bound.js'
import { ENTRY_LINK_CREATE_BURST } from '../../src/protocol/entry-create-budget.js'
import { buildCircuit, type TestCircuit } from '../helpers/circuit.js'

await cryptoReady()

const HOPS = 3
const CELL = 1024

function fakeHost (): { host: SenderHost, writes: Uint8Array[][], built: Map<number, TestCircuit> } {
  const circuits = new Map<number, ClientCircuit>()
  const writes: Uint8Array[][] = []
  const built = new Map<number, TestCircuit>()
  let nextId = 1
  const host: SenderHost = {
    geometry: buildCircuit(HOPS, CELL).context.geometry,
    stats: new ClientStats(),
    circuits,
    entryUp: () => true,
    buildCircuit: (key): BuiltCircuit => {
      const test = buildCircuit(HOPS, CELL)
      const circuit = new ClientCircuit(nextId++, key, test.forwardSealer, test.backwardOpener, Date.now())
      circuit.streams = new CircuitStreams(test.context.geometry.forwardDataBytes, { send: () => {}, control: () => {}, streamClosed: () => {}, violation: () => {} })
      circuits.set(circuit.id, circuit)
      built.set(circuit.id, test)
      const create = new Uint8Array(CELL)
      create[3] = circuit.id
      create[4] = CellCommand.CREATE
      return { circuit, create, epochEndMs: Infinity }
    },
    refreshKeys: () => {},
    write: (cells) => { writes.push(cells) },
    failStreams: () => {},
    endCircuit: (circuit) => { circuit.ended = true; circuits.delete(circuit.id) },
    circuitsReady: () => {},
    loopAlarm: () => {},
    failClosed: () => {},
    recovered: () => {},
  }
  return { host, writes, built }
}

const options = { roundMs: 10, dirtinessMs: 60_000, maxCircuits: 2, keepaliveMs: 60_000, streamsPerCircuit: UNSHAPED_STREAMS_PER_CIRCUIT }

t.test('one event-loop turn, one write: the CREATE and the first relay cell together', async (t) => {
  const { host, writes, built } = fakeHost()
  const sender = new UnshapedSender(host, options)
  const placed = sender.place('a')
  if (!(placed instanceof ClientCircuit)) throw new Error('no circuit')
  const payload = encodeRelay(host.geometry.forwardPayloadBytes, 1, RelayCommand.BEGIN, Uint8Array.of(1, 2, 3))
  sender.send(placed, 1, RelayCommand.BEGIN, payload)
  t.equal(writes.length, 0, 'nothing written within the turn')
  await nextTurn()
  t.equal(writes.length, 1, 'one write')
  const [create, relay] = writes[0]!
  t.equal(decodeCell(host.geometry, create!).command, CellCommand.CREATE, 'the CREATE first')
  const cell = decodeCell(host.geometry, relay!)
  t.equal(cell.command, CellCommand.RELAY, 'then the RELAY cell')
  t.equal(cell.circuitId, placed.id, 'on its circuit')
  let body: Uint8Array | null = cell.body
  for (const [i, peeler] of built.get(placed.id)!.peelers.entries()) {
    body = peeler.peel(body!)
    t.ok(body !== null, `hop ${i + 1} peels it`)
  }
  const message = decodeRelay(body!)
  t.equal(message.command, RelayCommand.BEGIN)
  t.same([...message.data], [1, 2, 3], 'the exit reads the payload sent')
  sender.stop()
})

t.test('a young circuit serves its key only; a full client retires an idle one with a DESTROY', async (t) => {
  const { host, writes } = fakeHost()
  const sender = new UnshapedSender(host, options)
  const a = sender.place('a')
  t.equal(sender.place('a'), a, 'the same key reuses its circuit')
  const b = sender.place('b')
  t.not(b, a, 'another key gets its own')
  await nextTurn()
  writes.length = 0
  const c = sender.place('c')
  t.ok(c instanceof ClientCircuit, 'at the cap, idle circuits are retired to make room')
  t.equal(host.circuits.size, 1, 'both idle ones ended here')
  await nextTurn()
  const destroys = writes.flat().map((cell) => decodeCell(host.geometry, cell)).filter((cell) => cell.command === CellCommand.DESTROY)
  t.equal(destroys.length, 2, 'each with a DESTROY')
  t.ok(destroys.every((cell) => cell.body[0] === DestroyReason.FINISHED), 'reason FINISHED')
  t.equal(sender.received(c as ClientCircuit, { streamId: CIRCUIT_STREAM, command: RelayCommand.DROP, data: new Uint8Array(0) }), false, 'backward messages go to the streams')
  sender.stop()
})

/** Fill `circuit` with open streams up to `count` (what placement counts; nothing is sent). */
function fill (circuit: ClientCircuit, count: number): void {
  while (circuit.streams.size < count) circuit.streams.open(circuit.allocateStreamId())
}

t.test(`a key's streams beyond ${UNSHAPED_STREAMS_PER_CIRCUIT} on one circuit go on another of its circuits; at maxCircuits, full`, async (t) => {
  const { host } = fakeHost()
  const sender = new UnshapedSender(host, { ...options, maxCircuits: 3 })
  const first = sender.place('a') as ClientCircuit
  fill(first, UNSHAPED_STREAMS_PER_CIRCUIT - 1)
  t.equal(sender.place('a'), first, 'one below the bound: the same circuit')
  fill(first, UNSHAPED_STREAMS_PER_CIRCUIT)
  const second = sender.place('a')
  t.ok(second instanceof ClientCircuit && second !== first, 'at the bound: a new circuit')
  t.equal((second as ClientCircuit).isolationKey, 'a', 'of the same key')
  t.equal(sender.place('a'), second, 'the next stream goes there too, while it has room')
  const other = sender.place('b')
  t.ok(other instanceof ClientCircuit && other !== first && other !== second, 'another key never gets them')
  fill(second as ClientCircuit, UNSHAPED_STREAMS_PER_CIRCUIT)
  fill(other as ClientCircuit, 1)
  t.equal(sender.place('a'), 'full', 'every circuit in use and full at maxCircuits: full, refused at once')
  t.equal(host.circuits.size, 3, 'no circuit was ended to make room')
  t.equal(first.streams.size, UNSHAPED_STREAMS_PER_CIRCUIT, 'the streams already open are untouched')
  first.streams.get(1)!.close(null, false)
  t.equal(sender.place('a'), first, 'a stream that ends makes room on its circuit')
  sender.stop()
})

t.test('new circuits keep to the entry\'s CREATE budget per link: past the burst a stream waits for the next token', async (t) => {
  const { host } = fakeHost()
  let ready = 0
  const readyOnce = new Promise<void>((resolve) => { host.circuitsReady = () => { ready++; resolve() } })
  const sender = new UnshapedSender(host, { ...options, maxCircuits: 1000 })
  t.teardown(() => sender.stop())
  const placed = Array.from({ length: ENTRY_LINK_CREATE_BURST + 2 }, (_, i) => sender.place(`key-${i}`))
  t.ok(placed.slice(0, ENTRY_LINK_CREATE_BURST).every((p) => p instanceof ClientCircuit), `the first ${ENTRY_LINK_CREATE_BURST} keys each get a new circuit at once`)
  t.same(placed.slice(ENTRY_LINK_CREATE_BURST), ['wait', 'wait'], 'the next ones wait: the entry would drop their CREATEs without a word')
  t.equal(host.circuits.size, ENTRY_LINK_CREATE_BURST, 'no circuit built past the budget')
  t.ok(placed[0] instanceof ClientCircuit && sender.place('key-0') === placed[0], 'a key with a circuit still gets it')
  const keepAlive = setTimeout(() => {}, 5000) // the sender's timer is unref'd: hold the process for it
  await readyOnce
  clearTimeout(keepAlive)
  t.equal(ready, 1, 'the waiting streams are placed again when the next token is due (one timer for all)')
  t.ok(sender.place('key-late') instanceof ClientCircuit, 'a second later, one more circuit')
  t.equal(sender.place('key-later'), 'wait', 'and then it waits again')
  sender.linkLost()
  t.ok(sender.place('key-after-reconnect') instanceof ClientCircuit, 'a new entry link starts with a full budget')
})
