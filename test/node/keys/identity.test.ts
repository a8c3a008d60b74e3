/**
 * Node identity files: keygen writes two 0600 hex key files in a 0700 directory, refuses to
 * replace them unless forced, and loadIdentity reads them back (refusing exposed files).
 */
import t from 'tap'
import { chmod, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { cryptoReady, equal, sign, verify, x25519, x25519KeyPair } from '../../../src/crypto/index.js'
import { IDENTITY_KEY_FILE, keygen, LINK_KEY_FILE, loadIdentity, wipeIdentity } from '../../../src/node/keys/identity.js'

await cryptoReady()

t.test('keygen writes identity.key and link.key (0600, 64 hex digits) in a new 0700 directory', async (t) => {
  const dir = join(t.testdir({}), 'keys')
  const made = await keygen(dir)
  t.equal((await stat(dir)).mode & 0o777, 0o700)
  for (const name of [IDENTITY_KEY_FILE, LINK_KEY_FILE]) {
    t.equal((await stat(join(dir, name))).mode & 0o777, 0o600, `${name} is 0600`)
    t.match((await readFile(join(dir, name), 'utf8')), /^[0-9a-f]{64}\n$/, `${name} is hex`)
  }
  const loaded = await loadIdentity(dir)
  t.ok(equal(loaded.identity.publicKey, made.identityKey), 'the identity public key matches')
  t.ok(equal(loaded.link.publicKey, made.linkKey), 'the link public key matches')
  const message = Uint8Array.of(1, 2, 3)
  t.ok(verify(made.identityKey, message, sign(loaded.identity.secretKey, message)), 'the identity key signs')
  const peer = x25519KeyPair()
  t.ok(equal(x25519(loaded.link.secretKey, peer.publicKey), x25519(peer.secretKey, made.linkKey)), 'the link key agrees')
  wipeIdentity(loaded)
  t.ok(loaded.identity.secretKey.every((b) => b === 0) && loaded.link.secretKey.every((b) => b === 0), 'wipeIdentity zeroes both secrets')
})

t.test('keygen refuses to overwrite existing keys unless forced', async (t) => {
  const dir = t.testdir({})
  const first = await keygen(dir)
  const before = await readFile(join(dir, IDENTITY_KEY_FILE))
  await t.rejects(keygen(dir), { code: 'KEYS_EXISTS', message: /identity\.key" and ".*link\.key" already exist.*--force/ })
  t.ok(equal(await readFile(join(dir, IDENTITY_KEY_FILE)), before), 'the identity file is untouched')
  const forced = await keygen(dir, { force: true })
  t.notOk(equal(forced.identityKey, first.identityKey), 'force makes a new identity')
  t.ok(equal((await loadIdentity(dir)).identity.publicKey, forced.identityKey))

  const half = t.testdir({ [LINK_KEY_FILE]: 'aa'.repeat(32) + '\n' })
  await t.rejects(keygen(half), { code: 'KEYS_EXISTS', message: /link\.key" already exists/ }, 'one existing file is enough to refuse')
})

t.test('loadIdentity refuses exposed, missing and malformed key files; keygen an open directory', async (t) => {
  const dir = t.testdir({})
  await keygen(dir)
  await chmod(join(dir, LINK_KEY_FILE), 0o640)
  await t.rejects(loadIdentity(dir), { code: 'KEYS_BAD_MODE', message: /link\.key.*chmod 600/ })
  await t.rejects(loadIdentity(t.testdir({})), { code: 'CONFIG_KEY_FILE', message: /identity\.key.*ENOENT/ })
  const bad = t.testdir({ [IDENTITY_KEY_FILE]: 'not a key\n' })
  await chmod(join(bad, IDENTITY_KEY_FILE), 0o600)
  await t.rejects(loadIdentity(bad), { code: 'CONFIG_KEY_FILE', message: /must hold 32 raw bytes or 64 hex digits/ })
  const open = t.testdir({})
  await chmod(open, 0o757)
  await t.rejects(keygen(open), { code: 'KEYS_BAD_MODE' })
})
