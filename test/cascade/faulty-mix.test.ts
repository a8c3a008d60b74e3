/**
 * A tagging mix (R3): mix 1 flips a bit in every forward cell of one circuit (a test-only
 * subclass of its successor output, given through MixOptions.testOutput). The next honest hop drops each of them silently and
 * counts it, and sends nothing back; the client, hearing nothing, fails the app's stream
 * after its stream timeout (REP 0x06) and raises an alarm — but does not react on the
 * wire: no DESTROY reaches the entry. Other circuits through the same mixes are unaffected.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { cryptoReady } from '../../src/crypto/index.js'
import { CELL_HEADER_BYTES } from '../../src/protocol/geometry.js'
import type { HopCircuit } from '../../src/hop/hop-circuit.js'
import { MixNode } from '../../src/mix/mix-node.js'
import { SuccessorOutput } from '../../src/mix/successor-output.js'
import { startCascade, waitFor } from '../helpers/cascade.js'
import { rawConnect } from '../helpers/raw-socks.js'
import { startHttpTarget } from '../helpers/targets.js'

await cryptoReady()
const run = promisify(execFile)

/** Once armed, takes the next circuit created as its victim and flips a bit in its forward cells. */
class TaggingOutput extends SuccessorOutput {
  armed = false
  victim: HopCircuit | null = null
  tagged = 0

  override created (circuit: HopCircuit, next: Uint8Array | null): boolean {
    const ok = super.created(circuit, next)
    if (ok && this.armed && this.victim === null) this.victim = circuit
    return ok
  }

  override peel (circuit: HopCircuit, body: Uint8Array, received: Uint8Array): Uint8Array | null {
    const cell = super.peel(circuit, body, received)
    if (cell !== null && circuit === this.victim) {
      cell[CELL_HEADER_BYTES + 7]! ^= 0x10
      this.tagged++
    }
    return cell
  }
}

const STREAM_TIMEOUT_MS = 1500
const http = await startHttpTarget(t)
let tagging: TaggingOutput | undefined
const cascade = await startCascade({
  mixFactory: (position) => position === 1 ? (options) => new MixNode({ ...options, testOutput: (core, o) => (tagging = new TaggingOutput(core, o)) }) : undefined,
  client: { streamTimeoutMs: STREAM_TIMEOUT_MS, failTimeoutMs: 300 },
})
t.teardown(() => cascade.stop())
const tagger = tagging!
const mix2 = cascade.mixes[1]!.node
const client = cascade.client.node
const exit = cascade.exit.node

async function curl (credentials: string, path: string): Promise<string> {
  const { stdout } = await run('curl', ['-sS', '--max-time', '20', '-x', `socks5h://${credentials}@127.0.0.1:${cascade.socksPort}`, `http://localhost:${http.port}${path}`])
  return stdout
}

/** Wait until every stream has ended at the exit and its last cells have crossed every hop. */
async function quiet (): Promise<void> {
  await waitFor(() => exit.exitStats.streamsActive === 0, 'streams to end at the exit')
  const nodes = [...cascade.mixes.map((m) => m.node), exit]
  const start = nodes.map((node) => node.stats.rounds)
  await waitFor(() => nodes.every((node, i) => node.stats.rounds >= start[i]! + 5), 'a few rounds everywhere')
}

t.test('before the fault: a circuit through the tagging mix works', async (t) => {
  t.equal(await curl('honest:x', '/before'), 'hello /before\n')
  await quiet()
})

t.test('a tagged circuit: dropped at mix 2, silence back, REP 0x06 after the stream timeout, alarm, no DESTROY', async (t) => {
  tagger.armed = true
  const failuresBefore = mix2.stats.relayAuthFailures
  const exitCreates = exit.stats.createsAccepted
  const exitStreams = exit.exitStats.streamsOpened + exit.exitStats.streamsRefused
  const clientCellsIn = client.stats.cellsIn
  const alarms = client.stats.alarms
  const request = Buffer.from(`GET /victim HTTP/1.0\r\nHost: localhost\r\n\r\n`)
  const { socket, reader, rep } = await rawConnect({ socksPort: cascade.socksPort, host: 'localhost', port: http.port, username: 'victim', password: 'x', early: request })
  t.teardown(() => socket.destroy())
  t.equal(rep, 0x06, 'the app hears TTL expired (the client\'s stream timeout)')
  t.same(await reader.readToEnd(), Buffer.alloc(0), 'and nothing else; its connection is closed')
  t.ok(tagger.tagged >= 1, `the tagging mix flipped a bit in ${tagger.tagged} cell(s)`)
  await waitFor(() => mix2.stats.relayAuthFailures - failuresBefore >= tagger.tagged, 'mix 2 to drop every tagged cell')
  t.equal(mix2.stats.relayAuthFailures - failuresBefore, tagger.tagged, 'mix 2 dropped and counted every tagged cell')
  t.equal(exit.stats.createsAccepted - exitCreates, 1, 'the CREATE itself went through (it was not tagged)')
  t.equal(exit.exitStats.streamsOpened + exit.exitStats.streamsRefused, exitStreams, 'the BEGIN never reached the exit')
  t.notOk(http.requests.some((r) => r.url === '/victim'), 'nor the server')
  t.equal(client.stats.cellsIn, clientCellsIn, 'nothing at all came back to the client')
  t.equal(client.stats.integrityFailures, 0)
  t.equal(client.stats.alarms - alarms, 1, 'the client raised one alarm')
  t.equal(client.stats.streamsTimedOut, 1)
  // Let the fail timeout pass too: the client still sends no DESTROY, and no hop sends one on.
  await new Promise((resolve) => setTimeout(resolve, 500))
  for (const [i, mix] of cascade.mixes.entries()) t.equal(mix.node.stats.destroysIn, 0, `mix ${i + 1} received no DESTROY`)
  t.equal(exit.stats.destroysIn, 0, 'the exit received no DESTROY')
  t.equal(cascade.mixes[0]!.node.circuits, mix2.circuits, 'the tagged circuit is still held at mix 1 and mix 2 (kept until it expires)')
})

t.test('other circuits through the same mixes keep working; the victim\'s next stream gets a new circuit', async (t) => {
  t.equal(await curl('honest:x', '/after'), 'hello /after\n', 'the untagged circuit works')
  const built = client.stats.circuitsBuilt
  t.equal(await curl('victim:x', '/victim-again'), 'hello /victim-again\n', 'the suspect circuit takes no new stream')
  t.equal(client.stats.circuitsBuilt - built, 1, 'a new circuit carried it')
  t.equal(cascade.mixes[0]!.node.stats.destroysIn, 0, 'still no DESTROY at the entry')
})
