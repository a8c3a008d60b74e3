/**
 * A node never dies from input (issue #10, item 1): a hand-made client sends every relay
 * command at its largest and one byte over, on a real cascade. The exit drops what it must
 * (counted), echoes a LOOP only up to `loopDataBytes` (the backward cell's size: a forward
 * LOOP of the full forward size used to crash the exit in its echo), catches no exception,
 * and keeps serving a good stream beside it. And structurally: an exception that escapes a
 * cell handler is caught, counted and logged, and the node goes on.
 */
import t, { type Test } from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { cryptoReady, randomBytes } from '../../src/crypto/index.js'
import { CellCommand, cellCircuitId, cellCommand, encodeCell } from '../../src/protocol/cell.js'
import { CELL_HEADER_BYTES, RELAY_HEADER_BYTES } from '../../src/protocol/geometry.js'
import { decodeRelay } from '../../src/protocol/relay-payload.js'
import { MixNode } from '../../src/mix/mix-node.js'
import type { ExitNode } from '../../src/exit/exit-node.js'
import { startCascade, waitFor, type TestCascade } from '../helpers/cascade.js'
import { RawClient, RelayCommand, type RawCircuit } from '../helpers/raw-circuit.js'
import { startHttpTarget } from '../helpers/targets.js'

/** A mix or the exit: what these tests read of either. */
type HopNode = MixNode | ExitNode

await cryptoReady()
const run = promisify(execFile)
const http = await startHttpTarget(t)

/** A relay payload whose length field says `length`, with as many data bytes as fit. */
function relayPayload (payloadBytes: number, streamId: number, command: number, length: number): Uint8Array {
  const payload = new Uint8Array(payloadBytes)
  payload[0] = streamId >>> 8
  payload[1] = streamId & 0xff
  payload[2] = command
  payload[3] = length >>> 8
  payload[4] = length & 0xff
  const fits = Math.min(length, payloadBytes - RELAY_HEADER_BYTES)
  payload.set(randomBytes(fits), RELAY_HEADER_BYTES)
  return payload
}

async function curlWorks (t: Test, c: TestCascade, path: string): Promise<void> {
  const { stdout } = await run('curl', ['-sS', '--max-time', '20', '--socks5-hostname', `127.0.0.1:${c.socksPort}`, `http://localhost:${http.port}${path}`])
  t.equal(stdout, `hello ${path}\n`, 'curl through the same cascade works')
}

async function circuitThrough (raw: RawClient, exit: HopNode): Promise<RawCircuit> {
  const created = exit.stats.createsAccepted
  const circuit = raw.createCircuit()
  await waitFor(() => exit.stats.createsAccepted === created + 1, 'the CREATE to reach the exit')
  return circuit
}

/**
 * The backward relay messages of `circuit` the raw client has received, opened once each (the
 * opener keeps a counter: a cell opens only once, in order).
 */
function reader (raw: RawClient, circuit: RawCircuit): () => Array<{ command: number, data: Uint8Array }> {
  const out: Array<{ command: number, data: Uint8Array }> = []
  let next = 0
  return () => {
    for (; next < raw.received.length; next++) {
      const cell = raw.received[next]!
      if (cellCommand(cell) !== CellCommand.RELAY || cellCircuitId(cell) !== circuit.id) continue
      const layer = circuit.opener.open(cell.subarray(CELL_HEADER_BYTES))
      if (layer?.kind !== 'data') continue
      const message = decodeRelay(layer.payload)
      out.push({ command: message.command, data: message.data })
    }
    return out
  }
}

t.test('every relay command at its largest and one byte over: the exit stays up', async (t) => {
  const c = await startCascade()
  t.teardown(() => c.stop())
  const { geometry } = c.cascade
  const exit = c.exit.node
  t.ok(geometry.loopDataBytes < geometry.forwardDataBytes, 'a LOOP can be longer forward than its echo could be (the old crash)')

  const raw = await RawClient.connect(c.cascade)
  t.teardown(() => raw.close())
  const circuit = await circuitThrough(raw, exit)
  const commands = [...Object.values(RelayCommand), 0, 9, 255]
  const violations = exit.exitStats.violations
  const malformed = exit.exitStats.relayMalformed
  for (const command of commands) {
    const streamId = command === RelayCommand.DROP || command === RelayCommand.LOOP ? 0 : 7
    for (const length of [geometry.forwardDataBytes, geometry.forwardDataBytes + 1]) {
      const body = circuit.sealer.seal(relayPayload(geometry.forwardPayloadBytes, streamId, command, length))
      raw.send(encodeCell(geometry, circuit.id, CellCommand.RELAY, body))
    }
  }
  // LOOP at its limit comes back unchanged; one byte more is a violation, not an echo.
  const messages = reader(raw, circuit)
  const atLimit = randomBytes(geometry.loopDataBytes)
  raw.send(raw.relayCell(circuit, 0, RelayCommand.LOOP, atLimit))
  await waitFor(() => messages().some((m) => m.command === RelayCommand.LOOP), 'the echo of the LOOP at its limit')
  const echo = messages().find((m) => m.command === RelayCommand.LOOP)!
  t.same(Buffer.from(echo.data), Buffer.from(atLimit), 'a LOOP of loopDataBytes is echoed unchanged')

  t.ok(exit.exitStats.violations > violations, 'the oversized LOOP (and the like) counted as violations')
  t.ok(exit.exitStats.relayMalformed > malformed, 'the payloads one byte over counted as malformed')
  t.equal(exit.stats.inputExceptions, 0, 'no exception escaped a handler: every case has its own rule')
  t.equal(messages().filter((m) => m.command === RelayCommand.LOOP).length, 1, 'only the LOOP within the limit was echoed')
  await curlWorks(t, c, '/after-limits')
})

t.test('an exception escaping a cell handler is caught, counted and logged; the node goes on', async (t) => {
  let throwOn = -1
  const c = await startCascade({
    mixFactory: (position) => position === 1
      ? (options) => new MixNode({
          ...options,
          // A stand-in for a bug a peer can trigger: the hook runs inside the cell handler.
          testFaults: { dropForward: (cell) => { if (cellCircuitId(cell) === throwOn) throw new TypeError('a bug'); return false } },
        })
      : undefined,
  })
  t.teardown(() => c.stop())
  const entry = c.mixes[0]!.node
  const raw = await RawClient.connect(c.cascade)
  t.teardown(() => raw.close())
  const circuit = await circuitThrough(raw, c.exit.node)
  throwOn = circuit.id
  for (let i = 0; i < 20; i++) raw.send(raw.relayCell(circuit, 0, RelayCommand.DROP, randomBytes(8)))
  await waitFor(() => entry.stats.inputExceptions === 20, 'twenty caught exceptions')
  t.equal(entry.circuits, 0, 'the circuit the faulty cells belonged to ended here (its state is suspect)')
  await curlWorks(t, c, '/after-a-bug')
})
