/**
 * Replay tag logs (R2): tags appended per round come back after a clean stop; a log that
 * cannot prove it is complete (no clean-shutdown marker, truncated, altered, over capacity)
 * is reported incomplete so that the node discards the key.
 */
import t from 'tap'
import { appendFile, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises'
import { cryptoReady, randomBytes } from '../../../src/crypto/index.js'
import { TagLogStore, TAG_BYTES } from '../../../src/node/keys/tag-log.js'

await cryptoReady()

const tagsOf = (n: number): Uint8Array[] => Array.from({ length: n }, () => randomBytes(TAG_BYTES))
const concat = (tags: Uint8Array[]): string => Buffer.concat(tags).toString('hex')

/** A store with a cleanly closed log for `epoch` holding `rounds` (one append per round). */
async function cleanLog (dir: string, epoch: number, rounds: Uint8Array[][], capacity = 1000): Promise<TagLogStore> {
  const store = new TagLogStore(dir, { capacity })
  const { log } = await store.open(epoch)
  for (const round of rounds) await log.append(round)
  await log.close()
  return store
}

t.test('appended tags come back in order after a clean close; the log is mode 0600', async (t) => {
  const dir = t.testdir({})
  const rounds = [tagsOf(3), tagsOf(1), tagsOf(5)]
  const store = await cleanLog(dir, 42, rounds)
  const loaded = await store.load(42)
  t.equal(loaded.state, 'complete')
  if (loaded.state !== 'complete') return
  t.equal(loaded.count, 9)
  t.equal(Buffer.from(loaded.tags).toString('hex'), concat(rounds.flat()))
  t.equal((await stat(store.logPath(42))).mode & 0o777, 0o600)
  t.same(await store.epochs(), [42])
})

t.test('reopening withdraws the marker, appends continue, and a second clean close covers all', async (t) => {
  const dir = t.testdir({})
  const first = tagsOf(4)
  const store = await cleanLog(dir, 7, [first])
  const { log, count, tags } = await store.open(7)
  t.equal(count, 4)
  t.equal(Buffer.from(tags).toString('hex'), concat(first))
  await t.rejects(stat(store.markerPath(7)), { code: 'ENOENT' }, 'the marker is gone while the log is open')
  t.equal((await store.load(7)).state, 'incomplete', 'a crash now would discard the key')
  const second = tagsOf(2)
  await log.append(second)
  await log.append([])
  t.equal(log.count, 6)
  await log.close()
  const loaded = await store.load(7)
  t.equal(loaded.state === 'complete' && Buffer.from(loaded.tags).toString('hex'), concat([...first, ...second]))
})

t.test('a log without a clean-shutdown marker is incomplete, and open refuses it', async (t) => {
  const dir = t.testdir({})
  const store = new TagLogStore(dir, { capacity: 100 })
  const { log } = await store.open(3)
  await log.append(tagsOf(2))
  await log.close({ clean: false }) // what a kill -9 leaves (the handle closes either way)
  const loaded = await store.load(3)
  t.equal(loaded.state, 'incomplete')
  t.match(loaded.state === 'incomplete' && loaded.reason, /no clean-shutdown marker/)
  await t.rejects(store.open(3), { code: 'KEYS_TAG_LOG_INCOMPLETE', message: /epoch 3/ })
})

t.test('truncated, extended or altered logs and bad markers are incomplete', async (t) => {
  const cases: Array<[string, (store: TagLogStore) => Promise<unknown>, RegExp]> = [
    ['truncated by one byte', async (s) => truncate(s.logPath(1), (await stat(s.logPath(1))).size - 1), /torn record/],
    ['cut at a record boundary', async (s) => truncate(s.logPath(1), (await stat(s.logPath(1))).size - (4 + 16 * 2 + 16)), /does not match its clean-shutdown marker/],
    ['longer than the marker says', async (s) => appendFile(s.logPath(1), Buffer.alloc(4 + 16 + 16)), /torn record|checksum/],
    ['a tag byte flipped', async (s) => flip(s.logPath(1), 16 + 4 + 3), /fails its checksum/],
    ['a header byte flipped', async (s) => flip(s.logPath(1), 9), /bad header/],
    ['the marker altered', async (s) => flip(s.markerPath(1), 20), /marker fails its checksum/],
    ['the marker cut short', async (s) => truncate(s.markerPath(1), 10), /marker is malformed/],
    ['the log missing, the marker present', async (s) => rm(s.logPath(1)), /log is missing/],
  ]
  for (const [name, damage, reason] of cases) {
    const store = await cleanLog(t.testdir({}), 1, [tagsOf(3), tagsOf(2)])
    await damage(store)
    const loaded = await store.load(1)
    t.equal(loaded.state, 'incomplete', name)
    t.match(loaded.state === 'incomplete' ? loaded.reason : '', reason, `${name}: says why`)
  }
})

t.test('a marker from another epoch\'s log does not vouch for this one', async (t) => {
  const dir = t.testdir({})
  const store = await cleanLog(dir, 5, [tagsOf(1)])
  await cleanLog(dir, 6, [tagsOf(1)])
  await writeFile(store.markerPath(6), await readFile(store.markerPath(5)))
  const loaded = await store.load(6)
  t.match(loaded.state === 'incomplete' && loaded.reason, /another epoch/)
})

t.test('capacity bounds the log: appends past it write nothing, logs over it are refused', async (t) => {
  const dir = t.testdir({})
  const store = new TagLogStore(dir, { capacity: 4 })
  const { log } = await store.open(9)
  await log.append(tagsOf(3))
  const size = (await stat(store.logPath(9))).size
  await t.rejects(log.append(tagsOf(2)), { code: 'KEYS_TAG_LOG_FULL' })
  t.equal((await stat(store.logPath(9))).size, size, 'nothing was written')
  await log.append(tagsOf(1))
  await log.close()
  t.equal((await store.load(9)).state, 'complete')
  const smaller = new TagLogStore(dir, { capacity: 3 })
  const loaded = await smaller.load(9)
  t.match(loaded.state === 'incomplete' && loaded.reason, /more than 3 tags/)
  await t.rejects(log.append(tagsOf(1)), { code: 'KEYS_CLOSED' })
  t.throws(() => new TagLogStore(dir, { capacity: 0 }), { code: 'KEYS_BAD_OPTION' })
})

t.test('a key that never had a log is absent; remove deletes a log and its marker', async (t) => {
  const dir = t.testdir({})
  const store = await cleanLog(dir, 11, [tagsOf(1)])
  t.same(await store.load(12), { state: 'absent' })
  await store.remove(11)
  t.same(await store.load(11), { state: 'absent' })
  t.same(await store.epochs(), [])
  await t.rejects(stat(store.markerPath(11)), { code: 'ENOENT' })
  const { log, count } = await store.open(11)
  t.equal(count, 0, 'a removed key starts a fresh log if opened again')
  await log.close()
})

async function flip (path: string, offset: number): Promise<void> {
  const bytes = await readFile(path)
  bytes[offset]! ^= 0x01
  await writeFile(path, bytes)
}
