/**
 * The onion key sources a running hop uses: both rotate with the epoch clock (moved by hand
 * here), `accepted()` follows the R18 windows (current key first, the previous one only for
 * the grace window, the next one only just before the boundary), and the durable source
 * brings a key's tags back after a clean close.
 */
import t, { type Test } from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cryptoReady, equal, randomBytes } from '../../../src/crypto/index.js'
import { epochSchedule } from '../../../src/protocol/epoch.js'
import { ephemeralOnionKeys, openDurableOnionKeys, type OnionKeySource } from '../../../src/node/keys/onion-key-source.js'

await cryptoReady()

// Epochs of 100 s from genesis 1000; grace 10 s. Times below are Unix seconds.
const schedule = epochSchedule({ epochS: 100, genesisS: 1000 })
const graceS = 10

function manualClock (startS: number): { clock: () => number, set: (s: number) => void } {
  let nowMs = startS * 1000
  return { clock: () => nowMs, set: (s) => { nowMs = s * 1000 } }
}

const epochsOf = (source: OnionKeySource): number[] => source.accepted().map((k) => k.epoch)

async function rotates (t: Test, source: OnionKeySource, time: { set: (s: number) => void }): Promise<void> {
  let changes = 0
  source.onChange(() => { changes++ })
  // 1050: the middle of epoch 0; only its key.
  t.same(epochsOf(source), [0], 'mid-epoch: only the current key')
  t.same(source.publicKeys().map((k) => k.epoch), [0, 1], 'publishes the current and the next key')
  const pk0 = source.accepted()[0]!.keyPair.publicKey
  t.ok(equal(pk0, source.publicKeys()[0]!.onionKey), 'the published key is the one in use')

  time.set(1089)
  await source.update()
  t.same(epochsOf(source), [0], 'just before the next key\'s window: still only the current key')
  time.set(1091)
  t.same(epochsOf(source), [0], 'the next key is not usable before the source opened it')
  await source.update()
  t.same(epochsOf(source), [0, 1], 'inside the window before the boundary: current first, then next')
  t.ok(changes >= 1, 'onChange fired when the next key opened')
  const pk1 = source.accepted()[1]!.keyPair.publicKey
  t.ok(equal(pk1, source.publicKeys()[1]!.onionKey), 'the next key is the one published as next')

  time.set(1105)
  await source.update()
  t.same(epochsOf(source), [1, 0], 'after the boundary, in the grace window: the new current key first, then the previous')
  t.same(source.publicKeys().map((k) => k.epoch), [1, 2])

  time.set(1111)
  t.same(epochsOf(source), [1], 'past the grace window the previous key is refused even before the timer retires it')
  const before = changes
  await source.update()
  t.same(epochsOf(source), [1], 'and after update only the current key is open')
  t.ok(changes > before, 'onChange fired when the previous key retired')
  t.same(source.currentEpoch(), 1)

  time.set(1550)
  await source.update()
  t.same(epochsOf(source), [5], 'a jump of several epochs: only the key of the new current epoch')
  t.notOk(equal(source.accepted()[0]!.keyPair.publicKey, pk1), 'a different key')
}

t.test('ephemeral keys rotate with the clock and follow the R18 windows', async (t) => {
  const time = manualClock(1050)
  const source = ephemeralOnionKeys({ schedule, graceS, clock: time.clock })
  t.teardown(() => source.close())
  t.same(source.discarded, [])
  t.equal(source.accepted()[0]!.restored.count, 0, 'no tags to restore')
  t.equal(source.accepted()[0]!.log, undefined, 'and no tag log')
  await rotates(t, source, time)
})

t.test('two ephemeral sources draw different keys (a restart has new ones)', async (t) => {
  const time = manualClock(1050)
  const a = ephemeralOnionKeys({ schedule, graceS, clock: time.clock })
  const b = ephemeralOnionKeys({ schedule, graceS, clock: time.clock })
  t.teardown(async () => { await a.close(); await b.close() })
  t.notOk(equal(a.publicKeys()[0]!.onionKey, b.publicKeys()[0]!.onionKey))
})

t.test('discard retires a key and every earlier one at once', async (t) => {
  const time = manualClock(1095)
  const source = ephemeralOnionKeys({ schedule, graceS, clock: time.clock })
  t.teardown(() => source.close())
  t.same(epochsOf(source), [0, 1])
  let changed = false
  source.onChange(() => { changed = true })
  await source.discard(0)
  t.same(epochsOf(source), [1], 'only the next key is left')
  t.ok(changed, 'listeners heard of it')
  await source.update()
  t.same(epochsOf(source), [1], 'and the discarded key never comes back')
})

t.test('durable keys rotate with the clock and follow the R18 windows', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mixgate-oks-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const time = manualClock(1050)
  const source = await openDurableOnionKeys({ dir: join(dir, 'keys'), schedule, graceS, capacity: 64, clock: time.clock })
  t.teardown(() => source.close())
  t.equal(source.capacity, 64)
  t.ok(source.accepted()[0]!.log !== undefined, 'each key has its tag log')
  await rotates(t, source, time)
})

t.test('durable keys restore their tags after a clean close, and the same key', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mixgate-oks-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const time = manualClock(1050)
  const keyDir = join(dir, 'keys')
  const first = await openDurableOnionKeys({ dir: keyDir, schedule, graceS, capacity: 64, clock: time.clock })
  const key = first.accepted()[0]!
  const publicKey = Uint8Array.from(key.keyPair.publicKey)
  const tags = [randomBytes(16), randomBytes(16), randomBytes(16)]
  await key.log!.append(tags.slice(0, 2))
  await key.log!.append(tags.slice(2))
  await first.close()
  t.same(first.accepted(), [], 'a closed source accepts nothing')

  const second = await openDurableOnionKeys({ dir: keyDir, schedule, graceS, capacity: 64, clock: time.clock })
  t.teardown(() => second.close())
  t.same(second.discarded, [], 'nothing discarded after a clean close')
  const again = second.accepted()[0]!
  t.equal(again.epoch, 0)
  t.ok(equal(again.keyPair.publicKey, publicKey), 'the same key')
  t.equal(again.restored.count, 3, 'every tag is back')
  const restored = Array.from({ length: 3 }, (_, i) => again.restored.tags.subarray(i * 16, i * 16 + 16))
  t.ok(tags.every((tag, i) => equal(tag, restored[i]!)), 'byte for byte, in order')
})
