/**
 * A hostile exit's answers to RESOLVE and ASSOCIATE (PROTOCOL.md §7.2, §7.3, §11.4), through
 * a real client and a fake cascade that plays the exit: a RESOLVED with a name where
 * addresses were asked for, a malformed RESOLVED, and a RESOLVED where an ASSOCIATE's
 * CONNECTED belongs each give the app REP 0x01 and close its connection, raise an alarm on
 * the circuit (a debug line each, never a line per event above debug), and crash nothing;
 * an honest answer on another circuit is passed on.
 */
import t from 'tap'
import { cryptoReady } from '../../src/crypto/index.js'
import { runClient } from '../../src/client/run-client.js'
import { decodeResolve, encodeResolved } from '../../src/protocol/resolve.js'
import { RelayCommand } from '../../src/protocol/relay-payload.js'
import type { ShapingParams } from '../../src/protocol/shaping.js'
import { memoryLogger, waitFor } from '../helpers/cascade.js'
import { openSocket, SocketReader } from '../helpers/raw-socks.js'
import { startFakeCascade } from './fake-cascade.js'

await cryptoReady()

const SHAPING: ShapingParams = {
  profile: 'strict', ratesMilli: [1000], slotMs: 1000, circuits: 4, circuitSlots: 20_000,
  kMin: 1, createHoldRounds: 0, loopsPerSlot: 4, loopJitterRounds: 0, clientRateMilli: 128_000,
}

const fake = await startFakeCascade({
  shaping: SHAPING,
  answer: (message) => {
    if (message.command === RelayCommand.ASSOCIATE) return { command: RelayCommand.RESOLVED, data: encodeResolved(['192.0.2.5'], 100) }
    if (message.command !== RelayCommand.RESOLVE) return undefined
    const { host } = decodeResolve(message.data)
    if (host === 'good.test') return { command: RelayCommand.RESOLVED, data: encodeResolved(['192.0.2.5'], 100) }
    if (host === 'wrong-kind.test') return { command: RelayCommand.RESOLVED, data: encodeResolved(['evil.test'], 100) }
    return { command: RelayCommand.RESOLVED, data: Uint8Array.of(9, 9, 9) }
  },
})
t.teardown(() => fake.close())
const { logger, lines } = memoryLogger('client', 'debug')
const client = await runClient({ cascade: fake.source, logger, socks: { host: '127.0.0.1', port: 0 }, loopMarginMs: 600_000, logIntervalMs: 3_600_000 })
t.teardown(() => client.stop())
await client.node.waitForEntry()

/** Greeting with `user` as the username (its own circuit), one request; the reply, and whether the front closed after it. */
async function request (user: string, command: number, address: Buffer): Promise<{ reply: Buffer, closed: boolean }> {
  const socket = await openSocket(client.socks.port)
  socket.on('error', () => {})
  const reader = new SocketReader(socket)
  try {
    socket.write(Buffer.from([0x05, 0x01, 0x02]))
    await reader.read(2)
    socket.write(Buffer.concat([Buffer.from([0x01, user.length]), Buffer.from(user), Buffer.from([1, 0x78])]))
    await reader.read(2)
    socket.write(Buffer.concat([Buffer.from([0x05, command, 0x00]), address, Buffer.from([0, 0])]))
    const reply = await reader.read(10)
    return { reply, closed: (await reader.readToEnd()).length === 0 }
  } finally {
    socket.destroy()
  }
}
const name = (text: string): Buffer => Buffer.concat([Buffer.from([0x03, text.length]), Buffer.from(text)])
const failure = Buffer.from([0x05, 0x01, 0x00, 0x01, 0, 0, 0, 0, 0, 0])

t.test('honest and hostile answers', async (t) => {
  const good = await request('a', 0xf0, name('good.test'))
  t.same(good.reply, Buffer.from([0x05, 0x00, 0x00, 0x01, 192, 0, 2, 5, 0, 0]), 'an honest answer is passed on')
  const alarms = client.node.stats.alarms
  const wrong = await request('b', 0xf0, name('wrong-kind.test'))
  t.same(wrong.reply, failure, 'a name where addresses were asked for: 0x01')
  t.ok(wrong.closed, 'and the connection is closed')
  const garbage = await request('c', 0xf0, name('garbage.test'))
  t.same(garbage.reply, failure, 'a malformed RESOLVED: 0x01')
  const associate = await request('d', 0x03, Buffer.from([0x01, 0, 0, 0, 0]))
  t.same(associate.reply, failure, 'a RESOLVED for an ASSOCIATE: 0x01')
  await waitFor(() => client.node.stats.alarms === alarms + 3, 'three alarms')
  const debug = lines.filter((line) => line.split(' ')[1] === 'debug' && line.includes('circuit.malformed_payload'))
  t.equal(debug.length, 3, 'one debug line per alarm')
  t.same(lines.filter((line) => line.split(' ')[1] === 'warn' && line.includes('circuit.malformed_payload')), [], 'none above debug before the interval')
  t.equal(client.node.stats.inputExceptions, 0, 'nothing threw')
})
