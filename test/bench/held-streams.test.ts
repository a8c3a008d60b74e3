/**
 * The held-streams opener (bench/held-streams.ts, issue #17) always stops, and says why:
 * every request asked, failures in a row, the capacity held, or the time cap (which abandons
 * the requests still unanswered). The SOCKS5 server here is a stand-in on 127.0.0.1 that
 * answers every CONNECT as its behaviour says (serve and echo, refuse, or never answer).
 */
import t from 'tap'
import type { Test } from 'tap'
import { createServer } from 'node:net'
import { openHeldStreams } from '../../bench/held-streams.js'
import { listenLoopback } from '../../bench/loopback-server.js'

type Behaviour = 'serve' | 'refuse' | 'silent'

/** Greeting and CONNECT come in one write (13 bytes); the reply follows as `behaviour` says. */
async function fakeSocks (t: Test, behaviour: Behaviour): Promise<number> {
  const server = createServer((socket) => {
    socket.on('error', () => {})
    let answered = false
    socket.on('data', (chunk) => {
      if (answered) { socket.write(chunk); return }
      answered = true
      if (behaviour === 'silent') return
      socket.write(Buffer.from([0x05, 0x00, 0x05, behaviour === 'serve' ? 0x00 : 0x01, 0x00, 0x01, 0, 0, 0, 0, 0, 0]))
    })
  })
  const listening = await listenLoopback(server)
  t.teardown(() => listening.close())
  return listening.port
}

t.test('every request asked and served: all-asked', async (t) => {
  const socksPort = await fakeSocks(t, 'serve')
  const held = await openHeldStreams({ socksPort, targetPort: 9, count: 12, inFlight: 4 })
  t.teardown(() => held.close())
  t.match(held.result, { served: 12, held: 12, cut: 0, skipped: 0, abandoned: 0, stopReason: 'all-asked' })
})

t.test('refused in a row: the opener stops asking', async (t) => {
  const socksPort = await fakeSocks(t, 'refuse')
  const held = await openHeldStreams({ socksPort, targetPort: 9, count: 20, inFlight: 1, giveUpAfter: 3 })
  t.match(held.result, { served: 0, replies: { 1: 3 }, skipped: 17, stopReason: 'failures-in-a-row' })
})

t.test('the capacity held: no more is asked', async (t) => {
  const socksPort = await fakeSocks(t, 'serve')
  const held = await openHeldStreams({ socksPort, targetPort: 9, count: 50, inFlight: 1, capacity: 5 })
  t.teardown(() => held.close())
  t.match(held.result, { served: 5, held: 5, skipped: 45, stopReason: 'capacity' })
})

t.test('no answer: the time cap abandons the requests in flight, and the opener ends', async (t) => {
  const socksPort = await fakeSocks(t, 'silent')
  const held = await openHeldStreams({ socksPort, targetPort: 9, count: 50, inFlight: 3, timeCapMs: 200 })
  t.match(held.result, { served: 0, lost: 0, abandoned: 3, skipped: 47, stopReason: 'time-cap' })
})
