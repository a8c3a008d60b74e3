/**
 * The keyring: keys open and retire with the clock (R18), the ratchet follows the oldest key
 * still needed (R14), tags survive a clean restart, and a key whose log is incomplete after
 * a crash is discarded for good (R2).
 */
import t, { type Test } from 'tap'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cryptoReady, equal, randomBytes } from '../../../src/crypto/index.js'
import { EpochClock, epochSchedule, epochStartS } from '../../../src/protocol/epoch.js'
import { EpochKeyring } from '../../../src/node/keys/keyring.js'
import { SEED_FILE } from '../../../src/node/keys/seed-store.js'

await cryptoReady()

const schedule = epochSchedule({ epochS: 3600, genesisS: 1_700_000_000 })
const G = 120

/**
 * A state directory removed at the end of the test. Not `t.testdir()`: tap removes that
 * before async teardowns finish, and closing a keyring writes into its directory.
 */
async function stateDir (t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mixgate-keyring-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** A keyring on `dir` whose clock the test moves by setting `time.s` (Unix seconds). */
async function keyringAt (dir: string, time: { s: number }): Promise<EpochKeyring> {
  const clock = new EpochClock({ schedule, graceS: G, clock: () => time.s * 1000 })
  return EpochKeyring.open({ dir, clock, capacity: 1000 })
}

t.test('a fresh start opens the current key and publishes the current and next', async (t) => {
  const time = { s: epochStartS(schedule, 100) + 600 }
  const keyring = await keyringAt(await stateDir(t), time)
  t.teardown(() => keyring.close())
  t.same(keyring.active().map((k) => k.epoch), [100])
  t.same(keyring.publicKeys().map((k) => k.epoch), [100, 101])
  t.ok(equal(keyring.publicKeys()[0]!.onionKey, keyring.key(100)!.keyPair.publicKey))
  t.equal(keyring.key(101), undefined, 'the next key is not accepted yet')
  t.same(keyring.discarded, [])
  t.equal(keyring.oldestEpoch, 100)
})

t.test('keys open within G before the boundary and retire G after it; the ratchet follows', async (t) => {
  const dir = await stateDir(t)
  const boundary = epochStartS(schedule, 101)
  const time = { s: boundary - G - 1 }
  const keyring = await keyringAt(dir, time)
  t.teardown(() => keyring.close())
  t.same(keyring.active().map((k) => k.epoch), [100])
  time.s = boundary - G
  t.same(await keyring.update(), { added: [101], retired: [] })
  t.ok(keyring.key(101) !== undefined, 'the next key is accepted in the window before the boundary')
  await keyring.key(101)!.log.append([randomBytes(16)])
  time.s = boundary + G - 1
  t.same(await keyring.update(), { added: [], retired: [] })
  t.equal(keyring.oldestEpoch, 100, 'the previous key is still needed in the grace window')
  const oldSecret = keyring.key(100)!.keyPair.secretKey
  time.s = boundary + G
  t.same(await keyring.update(), { added: [], retired: [100] })
  t.equal(keyring.oldestEpoch, 101, 'the ratchet moved past the retired key')
  t.ok(oldSecret.every((b) => b === 0), 'the retired secret key was wiped')
  t.same((await readdir(dir)).filter((n) => n.startsWith('tags-')).sort(), ['tags-101.log'], 'its tag log was deleted')
  t.same(keyring.publicKeys().map((k) => k.epoch), [101, 102])
})

t.test('a clean restart restores every tag; a crash discards the key for good', async (t) => {
  const dir = await stateDir(t)
  const time = { s: epochStartS(schedule, 100) + 600 }
  const first = await keyringAt(dir, time)
  const tags = [randomBytes(16), randomBytes(16)]
  await first.key(100)!.log.append(tags)
  await first.close()

  const second = await keyringAt(dir, time)
  const restored = second.key(100)!.restored
  t.equal(restored.count, 2)
  t.equal(Buffer.from(restored.tags).toString('hex'), Buffer.concat(tags).toString('hex'), 'the tags came back')
  await second.key(100)!.log.append([randomBytes(16)])
  const seedBefore = await readFile(join(dir, SEED_FILE))
  // kill -9: no clean close. Closing the file handle without a marker is what the OS does.
  await second.key(100)!.log.close({ clean: false })

  const third = await keyringAt(dir, time)
  t.teardown(() => third.close())
  t.same(third.discarded, [100], 'the key with an incomplete log is discarded')
  t.equal(third.key(100), undefined, 'and never used again: no CREATE under it is accepted')
  t.equal(third.oldestEpoch, 101)
  t.notOk(equal(await readFile(join(dir, SEED_FILE)), seedBefore), 'the seed on disk moved past it')
  t.same(third.publicKeys().map((k) => k.epoch), [101], 'only later keys are published')
  t.same((await readdir(dir)).filter((n) => n.startsWith('tags-')), [], 'its log is gone')
})

t.test('discard retires a key whose log failed, and a new seed clears stale logs', async (t) => {
  const dir = await stateDir(t)
  await writeFile(join(dir, 'tags-5.log'), 'from an earlier key history')
  const time = { s: epochStartS(schedule, 100) + 600 }
  const keyring = await keyringAt(dir, time)
  t.teardown(() => keyring.close())
  t.notOk((await readdir(dir)).includes('tags-5.log'), 'logs without their seed are removed')
  await keyring.discard(100)
  t.equal(keyring.key(100), undefined)
  t.equal(keyring.oldestEpoch, 101)
  t.same(await keyring.update(), { added: [], retired: [] }, 'nothing to open until the next key is accepted')
  await keyring.close()
  await t.rejects(keyring.update(), { code: 'KEYS_CLOSED' })
})
