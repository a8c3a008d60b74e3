/**
 * The seed store on disk: one 0600 file in a 0700 directory, holding the oldest seed still
 * needed; after `advance` the old seed is gone from the file (and, through a hard link, from
 * the old file's blocks); a crash's leftover tmp file is handled; corruption is refused.
 */
import t from 'tap'
import { chmod, link, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { cryptoReady, equal, memzero } from '../../../src/crypto/index.js'
import { onionKeyPair, ratchetSeed } from '../../../src/node/keys/ratchet.js'
import { SeedStore, SEED_FILE } from '../../../src/node/keys/seed-store.js'
import { labelled } from './ratchet-vectors.js'

await cryptoReady()

/** `true` if `needle` occurs anywhere in `haystack`. */
function contains (haystack: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(haystack).indexOf(Buffer.from(needle)) >= 0
}

t.test('create writes one 64-byte file, mode 0600, in a new directory of mode 0700', async (t) => {
  const dir = join(t.testdir({}), 'state')
  const seed = labelled('store create')
  const store = await SeedStore.create(dir, 100, seed)
  t.teardown(() => store.close())
  t.equal((await stat(dir)).mode & 0o777, 0o700)
  t.equal((await stat(join(dir, SEED_FILE))).mode & 0o777, 0o600)
  const bytes = await readFile(join(dir, SEED_FILE))
  t.equal(bytes.length, 64)
  t.ok(contains(bytes, seed), 'the file holds the seed')
  t.equal(store.epoch, 100)
})

t.test('keys for the stored epoch and every later one match the ratchet', async (t) => {
  const seed = labelled('store keys')
  const store = await SeedStore.create(t.testdir({}), 100, seed)
  t.teardown(() => store.close())
  for (const epoch of [100, 101, 105]) {
    const expected = onionKeyPair(ratchetSeed(seed, epoch - 100))
    const pair = store.keyPair(epoch)
    t.ok(equal(pair.publicKey, expected.publicKey), `epoch ${epoch} public key`)
    t.ok(equal(store.secretKey(epoch), expected.secretKey), `epoch ${epoch} secret key`)
    t.ok(equal(store.publicKey(epoch), expected.publicKey))
  }
})

t.test('advance: the old seed is no longer in the file, nor in the old file\'s blocks', async (t) => {
  const dir = t.testdir({})
  const seed = labelled('store advance')
  const store = await SeedStore.create(dir, 100, seed)
  t.teardown(() => store.close())
  const oldKey = store.secretKey(100)
  await link(join(dir, SEED_FILE), join(dir, 'old-inode')) // keeps the replaced inode reachable
  await store.advance(102)
  const now = await readFile(join(dir, SEED_FILE))
  t.notOk(contains(now, seed), 'seed_100 is not in the seed file')
  t.notOk(contains(now, ratchetSeed(seed, 1)), 'nor seed_101')
  t.ok(contains(now, ratchetSeed(seed, 2)), 'seed_102 is')
  const oldInode = await readFile(join(dir, 'old-inode'))
  t.ok(oldInode.every((b) => b === 0), 'the replaced file was overwritten with zeros')
  t.equal(store.epoch, 102)
  t.throws(() => store.secretKey(101), { code: 'KEYS_EPOCH_ERASED' }, 'erased keys cannot be asked for')
  t.notOk(equal(store.secretKey(102), oldKey))
  const reopened = await SeedStore.open(dir)
  t.teardown(() => reopened?.close())
  t.equal(reopened?.epoch, 102, 'a restart finds the advanced seed')
  t.ok(equal(reopened!.publicKey(103), onionKeyPair(ratchetSeed(seed, 3)).publicKey))
  memzero(oldKey)
})

t.test('advance never goes back, and concurrent advances are serialised', async (t) => {
  const dir = t.testdir({})
  const store = await SeedStore.create(dir, 10)
  t.teardown(() => store.close())
  await Promise.all([store.advance(12), store.advance(11), store.advance(15)])
  t.equal(store.epoch, 15)
  await store.advance(3)
  t.equal(store.epoch, 15, 'moving backwards does nothing')
  t.equal((await SeedStore.open(dir))?.epoch, 15)
})

t.test('a crash mid-write: a leftover tmp file is wiped and removed, the committed seed kept', async (t) => {
  const dir = t.testdir({})
  const seed = labelled('store crash')
  const store = await SeedStore.create(dir, 7, seed)
  store.close()
  await writeFile(join(dir, SEED_FILE + '.tmp'), 'half a new seed file', { mode: 0o600 })
  const reopened = await SeedStore.open(dir)
  t.teardown(() => reopened?.close())
  t.equal(reopened?.epoch, 7)
  t.ok(equal(reopened!.publicKey(7), onionKeyPair(seed).publicKey))
  await t.rejects(stat(join(dir, SEED_FILE + '.tmp')), { code: 'ENOENT' })

  const fresh = t.testdir({ [SEED_FILE + '.tmp']: 'crashed before the first rename' })
  t.equal(await SeedStore.open(fresh), undefined, 'no committed seed: nothing to open')
  await t.rejects(stat(join(fresh, SEED_FILE + '.tmp')), { code: 'ENOENT' })
  const { store: created, created: isNew } = await SeedStore.openOrCreate(fresh, 3)
  t.teardown(() => created.close())
  t.ok(isNew)
  t.equal(created.epoch, 3)
})

t.test('corrupt, foreign or exposed seed files are refused', async (t) => {
  const dir = t.testdir({})
  const store = await SeedStore.create(dir, 1)
  store.close()
  t.throws(() => store.secretKey(1), { code: 'KEYS_CLOSED' })
  await t.rejects(SeedStore.create(dir, 1), { code: 'KEYS_EXISTS' }, 'create never replaces a seed')
  const path = join(dir, SEED_FILE)
  const bytes = await readFile(path)
  bytes[20]! ^= 1
  await writeFile(path, bytes)
  await t.rejects(SeedStore.open(dir), { code: 'KEYS_CORRUPT', message: /fails its checksum/ })
  await writeFile(path, bytes.subarray(0, 40))
  await t.rejects(SeedStore.open(dir), { code: 'KEYS_CORRUPT', message: /has 40 bytes/ })
  await writeFile(path, Buffer.alloc(64, 0x41))
  await t.rejects(SeedStore.open(dir), { code: 'KEYS_CORRUPT', message: /not a mixgate seed file/ })
  await chmod(path, 0o644)
  await t.rejects(SeedStore.open(dir), { code: 'KEYS_BAD_MODE', message: /chmod 600/ })
  const open = t.testdir({})
  await chmod(open, 0o777)
  await t.rejects(SeedStore.create(open, 1), { code: 'KEYS_BAD_MODE', message: /writable by group or others/ })
})
