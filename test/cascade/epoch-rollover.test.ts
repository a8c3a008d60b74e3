/**
 * Onion keys rotate under a live cascade (4 s epochs, 1 s grace, so a boundary comes within
 * seconds): a stream that spans the boundary arrives byte-exact, circuits built after it use
 * the new keys, and a CREATE captured before it is refused when replayed after it — as a
 * replay while the old key is still in its grace window, and for want of a key once it has
 * retired. It is never accepted twice.
 */
import t from 'tap'
import { createHash } from 'node:crypto'
import { cryptoReady } from '../../src/crypto/index.js'
import { cascadeEpochAt, cascadeSchedule } from '../../src/directory/cascade.js'
import { epochStartS } from '../../src/protocol/epoch.js'
import { startCascade, waitFor } from '../helpers/cascade.js'
import { RawClient } from '../helpers/raw-circuit.js'
import { rawConnect } from '../helpers/raw-socks.js'
import { patternBytes, sha256, startTcpTarget } from '../helpers/targets.js'

await cryptoReady()

const EPOCH_S = 4
const GRACE_S = 1
const CHUNK = 16 * 1024
const CHUNKS = 90 // one every 50 ms: about 4.5 s of streaming, across the boundary
const BODY = patternBytes(CHUNK * CHUNKS)

// The target streams BODY slowly, so the stream is still running when the epoch changes.
const target = await startTcpTarget(t, (socket) => {
  let sent = 0
  const timer = setInterval(() => {
    if (socket.destroyed) { clearInterval(timer); return }
    socket.write(BODY.subarray(sent * CHUNK, (sent + 1) * CHUNK))
    if (++sent === CHUNKS) { clearInterval(timer); socket.end() }
  }, 50)
})

const cascade = await startCascade({ epochS: EPOCH_S, graceS: GRACE_S, mixes: 2 })
t.teardown(() => cascade.stop())
const schedule = cascadeSchedule(cascade.cascade)
const entry = cascade.mixes[0]!.node

/** Wait until `offsetS` seconds into some epoch (at least `minOffsetS`), and return that epoch. */
async function waitForEpochOffset (minOffsetS: number, maxOffsetS: number): Promise<number> {
  for (;;) {
    const now = Date.now() / 1000
    const epoch = cascadeEpochAt(cascade.cascade, now)
    const offset = now - epochStartS(schedule, epoch)
    if (offset >= minOffsetS && offset < maxOffsetS) return epoch
    const wait = offset < minOffsetS ? minOffsetS - offset : EPOCH_S - offset + minOffsetS
    await new Promise((resolve) => setTimeout(resolve, Math.ceil(wait * 1000) + 5))
  }
}

async function untilS (unixS: number): Promise<void> {
  const wait = unixS * 1000 - Date.now()
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
}

t.test('a stream survives the boundary; new circuits use the new key; replays are refused', async (t) => {
  // Between the grace window and the next key's window: only key e is accepted.
  const e = await waitForEpochOffset(GRACE_S + 0.2, EPOCH_S - GRACE_S - 1.2)
  const boundary = epochStartS(schedule, e + 1)

  const stream = await rawConnect({ socksPort: cascade.socksPort, host: '127.0.0.1', port: target.port, username: 'long', password: 'x' })
  t.teardown(() => stream.socket.destroy())
  t.equal(stream.rep, 0, 'the long stream connects')
  t.equal(cascade.client.node.stats.lastCircuitEpoch, e, 'its circuit was built with the keys of epoch e')
  const received = stream.reader.readToEnd().then((body) => ({ body, atS: Date.now() / 1000 }))

  const raw = await RawClient.connect(cascade.source)
  t.teardown(() => raw.close())
  const accepted = entry.stats.createsAccepted
  const captured = raw.createCircuit()
  t.equal(captured.epoch, e)
  await waitFor(() => entry.stats.createsAccepted === accepted + 1, 'the entry to accept the captured CREATE')
  t.equal(entry.stats.lastCreateEpoch, e, 'the entry opened it with the key of epoch e')

  // Just after the boundary, inside the grace window: key e is still accepted, and its
  // replay table remembers the tag.
  await untilS(boundary + 0.2)
  const replays = entry.stats.createsRefusedReplay
  raw.createOn(captured.id + 1, captured.create)
  await waitFor(() => entry.stats.createsRefusedReplay === replays + 1, 'the replay in the grace window to be refused')
  t.pass('replayed in the grace window: refused as a replay')
  t.equal(entry.stats.createsAccepted, accepted + 1, 'and not accepted')

  // Past the grace window key e is gone (and its replay table with it): the CREATE cannot be opened.
  await untilS(boundary + GRACE_S + 0.3)
  await waitFor(() => !entry.keyEpochs.includes(e), 'the entry to drop the table of key e')
  // Key e + 2 may be held too if this step ran past its window (boundary + EPOCH_S − GRACE_S) on
  // a slow machine: what matters is that no table of key e or older is left.
  t.same(entry.keyEpochs.filter((epoch) => epoch <= e), [], 'the entry holds no table of the old key')
  t.ok(entry.keyEpochs.includes(e + 1), 'and the new key\'s table')
  const refusedAuth = entry.stats.createsRefusedAuth
  raw.createOn(captured.id + 2, captured.create)
  await waitFor(() => entry.stats.createsRefusedAuth === refusedAuth + 1, 'the replay after the grace window to be refused')
  t.pass('replayed after the grace window: refused, no key opens it')
  t.equal(entry.stats.createsAccepted, accepted + 1, 'and not accepted')

  // A circuit built now uses the new key, at every hop.
  const fresh = raw.createCircuit()
  t.equal(fresh.epoch, e + 1)
  await waitFor(() => entry.stats.createsAccepted === accepted + 2, 'the entry to accept a new-epoch CREATE')
  t.equal(entry.stats.lastCreateEpoch, e + 1, 'the entry opened it with the key of epoch e + 1')
  const second = await rawConnect({ socksPort: cascade.socksPort, host: '127.0.0.1', port: target.port, username: 'new', password: 'x' })
  t.teardown(() => second.socket.destroy())
  t.equal(second.rep, 0, 'a new stream after the boundary connects')
  t.equal(cascade.client.node.stats.lastCircuitEpoch, e + 1, 'on a circuit built with the keys of epoch e + 1')
  t.equal(cascade.exit.node.stats.lastCreateEpoch, e + 1, 'which the exit opened with its new key')
  second.socket.destroy()

  const { body, atS } = await received
  t.ok(atS > boundary + GRACE_S, 'the long stream ended after the boundary and the grace window')
  t.equal(body.length, BODY.length, 'the long stream delivered every byte')
  t.equal(sha256(body), createHash('sha256').update(BODY).digest('hex'), 'byte-exact across the boundary')
})
