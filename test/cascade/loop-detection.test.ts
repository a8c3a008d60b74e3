/**
 * Loop accountability end to end (issue #5): an entry mix that drops 5 % of one client's
 * forward cells (the hop's test-only fault hook `testFaults.dropForward`) is detected by
 * that client's LOOPs within 60 s, and after `alarmLimit` alarms the client fails closed
 * (SOCKS reply 0x01 for a new stream) — while another client of the same cascade sees no
 * alarm. Short rounds and slots keep it to a few seconds of wall time.
 */
import t from 'tap'
import { createServer, type Server } from 'node:net'
import { cryptoReady } from '../../src/crypto/index.js'
import { cellCircuitId, CellCommand } from '../../src/protocol/cell.js'
import type { ShapingParams } from '../../src/protocol/shaping.js'
import { MixNode } from '../../src/mix/mix-node.js'
import { runClient, type RunningClient } from '../../src/client/run-client.js'
import { memoryLogger, startCascade, waitFor } from '../helpers/cascade.js'
import { rawConnect } from '../helpers/raw-socks.js'

await cryptoReady()

const SHAPING: ShapingParams = { profile: 'strict', ratesMilli: [1000], slotMs: 200, circuits: 3, circuitSlots: 30, kMin: 1, createHoldRounds: 0, loopsPerSlot: 4, loopJitterRounds: 2, clientRateMilli: 128_000 }

// A stream cut by its circuit's end or the cascade's stop reaches this server as a reset.
const echo: Server = createServer((socket) => { socket.on('error', () => {}); socket.pipe(socket) })
await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve))
const echoPort = (echo.address() as { port: number }).port
t.teardown(() => new Promise<void>((resolve) => echo.close(() => resolve())))

// The victim's circuit IDs on the entry link (the fault drops only their cells).
let victim: RunningClient | undefined
const victimCircuits = (): Set<number> => new Set(victim?.node.shaperState?.circuits().map((c) => c.id) ?? [])
let dropped = 0
// A counter, not a coin: exactly one cell in 20 (5 %) of the victim's RELAY cells.
let seen = 0
const dropForward = (cell: Uint8Array): boolean => {
  if (cell[4] !== CellCommand.RELAY || !victimCircuits().has(cellCircuitId(cell))) return false
  if (++seen % 20 !== 0) return false
  dropped++
  return true
}

const { logger, lines } = memoryLogger('cascade', 'info')
const cascade = await startCascade({
  roundMs: 10,
  shaping: SHAPING,
  logger,
  exitPolicy: ['accept 127.0.0.1:*'],
  mixFactory: (position) => position === 1 ? (options) => new MixNode({ ...options, testFaults: { dropForward } }) : undefined,
})
t.teardown(() => cascade.stop())
const honest = cascade.client

t.test('the victim detects the dropping entry within 60 s and fails closed; the other client sees no alarm', async (t) => {
  const started = Date.now()
  victim = await runClient({ cascade: cascade.source, logger: logger.child('victim'), socks: { host: '127.0.0.1', port: 0 }, alarmLimit: 3, logIntervalMs: 100 })
  t.teardown(() => victim!.stop())
  await victim.node.waitForEntry()
  await waitFor(() => victim!.node.shaping.loopAlarms > 0, 'the victim\'s first loop alarm', 60_000)
  t.ok(Date.now() - started <= 60_000, 'detected within 60 s')
  t.ok(dropped > 0, `the entry dropped ${dropped} of the victim's cells`)
  await waitFor(() => victim!.node.failedClosed, 'the victim to fail closed', 60_000)
  const refused = await rawConnect({ socksPort: victim.socks.port, host: '127.0.0.1', port: echoPort })
  refused.socket.destroy()
  t.equal(refused.rep, 0x01, 'a new stream is refused with SOCKS reply 0x01 (general failure)')
  // Alarms are logged as counts once per interval (R19): wait for the next lines.
  await waitFor(() => lines.some((line) => line.includes('loop.alarm')) && lines.some((line) => line.includes('loop.fail_closed')), 'the alarm counts in the log')
  t.ok(lines.some((line) => line.includes('loop.alarm')), 'the alarm is logged')
  t.ok(lines.some((line) => line.includes('loop.fail_closed')), 'failing closed is logged')
  t.notOk(lines.some((line) => line.includes('loop.alarm') && /circuit|"id"|sentMs/.test(line)), 'alarm lines name no circuit and no time')
  // The victim's cover goes on after failing closed: its rounds still leave.
  const rounds = victim.node.shaperState!.counters.roundsSent
  await waitFor(() => victim!.node.shaperState!.counters.roundsSent > rounds + 10, 'cover after failing closed')

  // The other client has been running all along; give it ~100 loops (some seconds) in all.
  await waitFor(() => honest.node.shaping.loopsReturned >= 100, 'the other client\'s loops', 30_000)
  const h = honest.node.shaping
  t.ok(h.loopsReturned >= 100, `the other client's loops came back (${h.loopsReturned})`)
  t.equal(h.loopAlarms, 0, 'the other client raised no alarm')
  t.equal(h.loopsLost, 0, 'the other client lost no loop')
  t.equal(honest.node.failedClosed, false)
  const works = await rawConnect({ socksPort: cascade.socksPort, host: '127.0.0.1', port: echoPort })
  works.socket.destroy()
  t.equal(works.rep, 0x00, 'the other client still opens streams')
})
