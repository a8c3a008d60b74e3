/**
 * The client's logs above debug hold counts, not events (issue #10 item 10, R19): N alarms
 * are one warn line with count N, written when the interval ends or the client stops, and
 * naming no circuit; each alarm is a debug line. Alarms are raised the real way, by backward
 * cells that fail authentication, on a real link; unsafe SOCKS requests by a raw SOCKS client.
 */
import t from 'tap'
import { cryptoReady } from '../../src/crypto/index.js'
import { runClient } from '../../src/client/run-client.js'
import type { ShapingParams } from '../../src/protocol/shaping.js'
import { memoryLogger, waitFor } from '../helpers/cascade.js'
import { rawConnect } from '../helpers/raw-socks.js'
import { startFakeCascade } from './fake-cascade.js'

await cryptoReady()

const SHAPING: ShapingParams = {
  profile: 'strict', ratesMilli: [1000], slotMs: 1000, circuits: 2, circuitSlots: 20_000,
  kMin: 1, createHoldRounds: 0, loopsPerSlot: 4, loopJitterRounds: 0, clientRateMilli: 128_000,
}
const ALARMS = 5
const UNSAFE = 3

/** The lines of `level` naming `event` (text format: time, level, role, event, fields). */
const linesOf = (lines: readonly string[], level: string, event: string): string[] =>
  lines.map((line) => line.trimEnd()).filter((line) => line.split(' ')[1] === level && line.split(' ')[3] === event)

t.test('N integrity alarms and N unsafe requests: one warn line each, with the count, at stop', async (t) => {
  const fake = await startFakeCascade({ shaping: SHAPING })
  t.teardown(() => fake.close())
  const { logger, lines } = memoryLogger('client', 'debug')
  // An interval far longer than the test: the counts are written by stop().
  const client = await runClient({
    cascade: fake.source, logger, socks: { host: '127.0.0.1', port: 0 }, safeSocks: true, loopMarginMs: 600_000, logIntervalMs: 3_600_000,
  })
  let stopped = false
  t.teardown(async () => { if (!stopped) await client.stop() })
  await client.node.waitForEntry()
  const shaper = client.node.shaperState!
  await waitFor(() => shaper.circuits().length === 2 && shaper.circuits().every((c) => fake.circuits.has(c.id)), 'two circuits through the fake cascade', 30_000)

  const target = shaper.circuits()[0]!
  for (let i = 0; i < ALARMS; i++) fake.sendGarbage(target.id)
  await waitFor(() => client.node.stats.integrityFailures === ALARMS, `${ALARMS} integrity alarms`, 30_000)
  for (let i = 0; i < UNSAFE; i++) {
    const refused = await rawConnect({ socksPort: client.socks.port, host: '127.0.0.1', port: 9 })
    refused.socket.destroy()
    t.equal(refused.rep, 0x02, 'an IP literal is refused under safeSocks')
  }

  t.equal(linesOf(lines, 'debug', 'circuit.integrity_failure').length, ALARMS, 'each alarm is a debug line')
  t.equal(linesOf(lines, 'debug', 'socks.unsafe_request').length, UNSAFE, 'each unsafe request is a debug line')
  t.same(linesOf(lines, 'warn', 'circuit.integrity_failure'), [], 'no warn line per alarm')
  t.same(linesOf(lines, 'warn', 'socks.unsafe_request'), [], 'no warn line per request')

  stopped = true
  await client.stop()
  const alarms = linesOf(lines, 'warn', 'circuit.integrity_failure')
  t.equal(alarms.length, 1, 'stopping writes one line for the alarms')
  t.match(alarms[0], new RegExp(` count=${ALARMS}( |$)`), `with count=${ALARMS}`)
  t.notOk(/circuit(Id)?=|id=|round/i.test(alarms[0]!.split(' ').slice(4).join(' ')), 'naming no circuit and no round')
  const unsafe = linesOf(lines, 'warn', 'socks.unsafe_request')
  t.equal(unsafe.length, 1, 'and one for the unsafe requests')
  t.match(unsafe[0], new RegExp(` count=${UNSAFE}( |$)`), `with count=${UNSAFE}`)
})
