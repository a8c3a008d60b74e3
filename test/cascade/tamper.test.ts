/**
 * Failures never become signals (DESIGN goal 3, R3, R5, R6), with a hand-made malicious
 * client on a real cascade: a RELAY cell with a flipped bit, a replayed CREATE, a CREATE
 * that does not authenticate. Each is dropped at mix 1 and counted; nothing goes up or down
 * the cascade because of it; the circuit it hit lives on; and other users are unaffected.
 */
import t, { type Test } from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { cryptoReady, randomBytes } from '../../src/crypto/index.js'
import { CellCommand, encodeCell } from '../../src/protocol/cell.js'
import { CELL_HEADER_BYTES } from '../../src/protocol/geometry.js'
import type { ExitNode } from '../../src/exit/exit-node.js'
import type { MixNode } from '../../src/mix/mix-node.js'
import { ForwardSealer } from '../../src/protocol/relay-layers.js'
import { decodeRelay } from '../../src/protocol/relay-payload.js'
import { startCascade, waitFor } from '../helpers/cascade.js'
import { flipBit, RawClient, RelayCommand, type RawCircuit } from '../helpers/raw-circuit.js'
import { startHttpTarget } from '../helpers/targets.js'

/** A mix or the exit: what these tests read of either. */
type HopNode = MixNode | ExitNode

await cryptoReady()
const run = promisify(execFile)

const http = await startHttpTarget(t)
const cascade = await startCascade()
t.teardown(() => cascade.stop())
const mix1: HopNode = cascade.mixes[0]!.node
const mix2: HopNode = cascade.mixes[1]!.node
const exit = cascade.exit.node
const { geometry } = cascade.cascade

/** Let every hop run `n` more rounds (whatever was queued has left by then). */
async function rounds (n = 5): Promise<void> {
  const nodes: HopNode[] = [...cascade.mixes.map((m) => m.node), exit]
  const start = nodes.map((node) => node.stats.rounds)
  await waitFor(() => nodes.every((node, i) => node.stats.rounds >= start[i]! + n), `${n} rounds`)
}

async function connectRaw (t: Test): Promise<RawClient> {
  const raw = await RawClient.connect(cascade.cascade)
  t.teardown(() => raw.close())
  return raw
}

/** Create a circuit and wait until its CREATE has reached the exit. */
async function circuitThrough (raw: RawClient): Promise<RawCircuit> {
  const created = exit.stats.createsAccepted
  const circuit = raw.createCircuit()
  await waitFor(() => exit.stats.createsAccepted === created + 1, 'the CREATE to reach the exit')
  return circuit
}

/** Send a LOOP on the circuit and check the exit's echo comes back (the circuit works). */
async function loopsBack (t: Test, raw: RawClient, circuit: RawCircuit, cell?: Uint8Array, data?: Uint8Array): Promise<void> {
  const payload = data ?? randomBytes(48)
  const before = raw.received.length
  raw.send(cell ?? raw.relayCell(circuit, 0, RelayCommand.LOOP, payload))
  await waitFor(() => raw.received.length > before, 'the LOOP echo')
  const echo = raw.received[before]!
  const opened = circuit.opener.open(echo.subarray(CELL_HEADER_BYTES))
  t.equal(opened?.kind, 'data', 'the echo opens under every hop\'s backward layer')
  if (opened?.kind !== 'data') return
  const message = decodeRelay(opened.payload)
  t.equal(message.command, RelayCommand.LOOP)
  t.same(Buffer.from(message.data), Buffer.from(payload), 'the LOOP data came back unchanged')
}

async function curlWorks (t: Test, path: string): Promise<void> {
  const { stdout } = await run('curl', ['-sS', '--max-time', '20', '--socks5-hostname', `127.0.0.1:${cascade.socksPort}`, `http://localhost:${http.port}${path}`])
  t.equal(stdout, `hello ${path}\n`, 'curl through the same cascade works')
}

t.test('a RELAY cell with a flipped bit is dropped at mix 1, counted, and answered by nothing', async (t) => {
  const raw = await connectRaw(t)
  const circuit = await circuitThrough(raw)
  const data = randomBytes(48)
  const genuine = raw.relayCell(circuit, 0, RelayCommand.LOOP, data)
  const failures = mix1.stats.relayAuthFailures
  const mix2In = mix2.stats.cellsIn
  const exitIn = exit.stats.cellsIn
  // A bit at the front (the outermost layer), in the middle (an inner layer), and in mix 1's tag.
  for (const offset of [0, 1000, geometry.bodyBytes - 1]) raw.send(flipBit(genuine, offset, 3))
  await waitFor(() => mix1.stats.relayAuthFailures === failures + 3, 'mix 1 to count three failures')
  await rounds()
  t.equal(mix1.stats.relayAuthFailures - failures, 3, 'mix 1 counted each tampered cell')
  t.equal(mix2.stats.cellsIn, mix2In, 'nothing went downstream')
  t.equal(exit.stats.cellsIn, exitIn, 'the exit saw nothing')
  t.equal(raw.received.length, 0, 'nothing came back upstream (no DESTROY, no error)')
  t.equal(mix1.stats.destroysIn + mix2.stats.destroysIn + exit.stats.destroysIn, 0, 'no DESTROY anywhere')
  // The circuit was kept (R3): the untampered cell, with the counter mix 1 still expects, passes.
  await loopsBack(t, raw, circuit, genuine, data)
})

t.test('the same CREATE replayed on a second circuit ID is refused at mix 1 and leaves no state', async (t) => {
  const raw = await connectRaw(t)
  const circuit = await circuitThrough(raw)
  const replayId = (circuit.id ^ 0x5a5a) >>> 0 || 1
  const refused = mix1.stats.createsRefusedReplay
  const circuits = mix1.circuits
  const mix2Creates = mix2.stats.createsAccepted + mix2.stats.createsRefusedReplay + mix2.stats.createsRefusedAuth
  raw.createOn(replayId, circuit.create)
  await waitFor(() => mix1.stats.createsRefusedReplay === refused + 1, 'mix 1 to refuse the replay')
  t.equal(mix1.circuits, circuits, 'no circuit was created for the replay')
  // Even a cell that authenticates under the replayed keys is dropped: the ID has no state (R5).
  const unknown = mix1.stats.unknownCircuitCells
  const replayed = new ForwardSealer(geometry, circuit.onion.hopKeys)
  const body = replayed.seal(new Uint8Array(geometry.forwardPayloadBytes))
  raw.send(encodeCell(geometry, replayId, CellCommand.RELAY, body))
  await waitFor(() => mix1.stats.unknownCircuitCells === unknown + 1, 'mix 1 to drop the cell as unknown')
  await rounds()
  t.equal(mix2.stats.createsAccepted + mix2.stats.createsRefusedReplay + mix2.stats.createsRefusedAuth, mix2Creates, 'the replay never reached mix 2')
  t.equal(raw.received.length, 0, 'nothing came back')
  // The original circuit is untouched.
  await loopsBack(t, raw, circuit)
})

t.test('a replay from another client link is refused too (the tag cache is per key, not per link)', async (t) => {
  const first = await connectRaw(t)
  const circuit = await circuitThrough(first)
  const second = await connectRaw(t)
  const refused = mix1.stats.createsRefusedReplay
  second.createOn(circuit.id, circuit.create)
  await waitFor(() => mix1.stats.createsRefusedReplay === refused + 1, 'mix 1 to refuse the replay')
  await rounds()
  t.equal(second.received.length, 0, 'nothing came back to the replaying link')
  t.equal(first.received.length, 0, 'nor to the victim')
})

t.test('a CREATE that does not authenticate is refused at mix 1 with no answer', async (t) => {
  const raw = await connectRaw(t)
  const circuit = raw.createCircuit()
  await waitFor(() => mix1.stats.createsAccepted > 0, 'the genuine CREATE')
  const refusedAuth = mix1.stats.createsRefusedAuth
  raw.createOn((circuit.id ^ 1) >>> 0 || 2, flipBit(circuit.create, 40))
  raw.createOn((circuit.id ^ 2) >>> 0 || 3, encodeCell(geometry, 7, CellCommand.CREATE, randomBytes(geometry.bodyBytes)))
  await waitFor(() => mix1.stats.createsRefusedAuth === refusedAuth + 2, 'mix 1 to refuse both')
  await rounds()
  t.equal(raw.received.length, 0)
})

t.test('after all that, curl through the same cascade still works', async (t) => {
  await curlWorks(t, '/after-tampering')
  t.equal(cascade.client.node.stats.alarms, 0, 'the honest client saw no anomaly')
})
