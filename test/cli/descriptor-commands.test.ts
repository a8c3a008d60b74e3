/**
 * `keygen`, `descriptor` and `cascade create|verify` as an operator uses them: keys made
 * once and never replaced without --force, descriptors signed from a key dir, a cascade
 * assembled from them, and every kind of bad descriptor refused with a clear error and
 * status 2 — one byte changed, a wrong pin, an expired descriptor.
 */
import t from 'tap'
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { cryptoReady } from '../../src/crypto/index.js'
import { verifyNodeDescriptor } from '../../src/directory/descriptor.js'
import { main } from '../../src/cli/main.js'
import { LOCK_FILE, lockKeyDir } from '../../src/node/keys/dir-lock.js'
import { writeTestSet } from './state-set.js'

await cryptoReady()

async function runMain (argv: string[]): Promise<{ code: number, out: string, err: string }> {
  let out = ''
  let err = ''
  const code = await main(argv, { out: (s) => { out += s }, err: (s) => { err += s } })
  return { code, out, err }
}

t.test('keygen writes private keys, prints the public ones, and refuses to replace them without --force', async (t) => {
  const dir = join(t.testdir({}), 'node')
  const first = await runMain(['keygen', '--dir', dir])
  t.equal(first.code, 0)
  t.match(first.out, /^identity [0-9a-f]{64}\nlink {5}[0-9a-f]{64}\n$/, 'the public keys, nothing else')
  t.equal(statSync(dir).mode & 0o777, 0o700, 'the key dir is private')
  for (const name of ['identity.key', 'link.key']) t.equal(statSync(join(dir, name)).mode & 0o777, 0o600, `${name} is mode 0600`)
  const identity = readFileSync(join(dir, 'identity.key'))

  const again = await runMain(['keygen', '--dir', dir])
  t.equal(again.code, 2, 'a second keygen exits 2')
  t.equal(again.out, '')
  t.match(again.err, /identity\.key" and ".*link\.key" already exist; refusing to replace a node's keys \(use --force/)
  t.ok(readFileSync(join(dir, 'identity.key')).equals(identity), 'the key is untouched')

  const forced = await runMain(['keygen', '--dir', dir, '--force'])
  t.equal(forced.code, 0)
  t.not(forced.out, first.out, '--force makes new keys')
  t.notOk(readFileSync(join(dir, 'identity.key')).equals(identity))

  t.match((await runMain(['keygen'])).err, /--dir DIR is required/)
})

t.test('descriptor signs the node\'s keys and parameters; the onion seed is created on first use', async (t) => {
  const dir = t.testdir({})
  await runMain(['keygen', '--dir', join(dir, 'exit')])
  writeFileSync(join(dir, 'exit.json'), JSON.stringify({ role: 'exit', keyDir: 'exit', address: '127.0.0.1:9002', epochS: 600 }))
  t.notOk(existsSync(join(dir, 'exit', 'onion-seed')))
  const printed = await runMain(['descriptor', '--config', join(dir, 'exit.json')])
  t.equal(printed.code, 0, printed.err)
  const node = verifyNodeDescriptor(JSON.parse(printed.out))
  t.equal(node.role, 'exit')
  t.equal(node.params.epochS, 600, 'the config\'s parameters are signed')
  t.equal(node.epochKeys.length, 2, 'the current and the next epoch\'s onion keys')
  t.equal(statSync(join(dir, 'exit', 'onion-seed')).mode & 0o777, 0o600, 'the seed was created, private')

  const out = join(dir, 'exit.desc')
  t.equal((await runMain(['descriptor', '--config', join(dir, 'exit.json'), '--out', out])).code, 0)
  t.same(JSON.parse(readFileSync(out, 'utf8')).epochKeys, JSON.parse(printed.out).epochKeys, 'the same onion keys from the same seed')

  writeFileSync(join(dir, 'client.json'), JSON.stringify({ role: 'client', cascade: 'c.json' }))
  const client = await runMain(['descriptor', '--config', join(dir, 'client.json')])
  t.equal(client.code, 2)
  t.match(client.err, /config field "role": a client has no descriptor/)
})

t.test('descriptor creates the first onion seed only under the key dir lock; a running node\'s seed is only read', async (t) => {
  const dir = t.testdir({})
  await runMain(['keygen', '--dir', join(dir, 'mix')])
  writeFileSync(join(dir, 'mix.json'), JSON.stringify({ role: 'mix', keyDir: 'mix', address: '127.0.0.1:9001', position: 1, epochS: 600 }))
  // A node starting now holds the lock (this process: its PID is alive).
  const lock = await lockKeyDir(join(dir, 'mix'))
  const refused = await runMain(['descriptor', '--config', join(dir, 'mix.json')])
  t.equal(refused.code, 2, 'no seed and the dir is locked: refused')
  t.match(refused.err, /config field "keyDir".*lock/, 'the error names the field and the lock')
  t.notOk(existsSync(join(dir, 'mix', 'onion-seed')), 'no seed was created beside the node\'s')
  await lock.release()
  const first = await runMain(['descriptor', '--config', join(dir, 'mix.json')])
  t.equal(first.code, 0, first.err)
  t.notOk(existsSync(join(dir, 'mix', LOCK_FILE)), 'the lock is released after creating the seed')
  const held = await lockKeyDir(join(dir, 'mix'))
  t.teardown(() => held.release())
  const read = await runMain(['descriptor', '--config', join(dir, 'mix.json')])
  t.equal(read.code, 0, 'with a seed, a locked dir (a running node) is read without the lock')
  t.same(JSON.parse(read.out).epochKeys, JSON.parse(first.out).epochKeys, 'the same keys')
})

t.test('cascade create assembles the hops\' descriptors, verify checks it; neither overwrites nor accepts bad input', async (t) => {
  const dir = t.testdir({})
  const names = ['mix1', 'exit']
  for (const [i, name] of names.entries()) {
    await runMain(['keygen', '--dir', join(dir, name)])
    const role = name === 'exit' ? { role: 'exit' } : { role: 'mix', position: 1 }
    writeFileSync(join(dir, `${name}.json`), JSON.stringify({ ...role, keyDir: name, address: `127.0.0.1:${9001 + i}` }))
    t.equal((await runMain(['descriptor', '--config', join(dir, `${name}.json`), '--out', join(dir, `${name}.desc`)])).code, 0)
  }
  const cascade = join(dir, 'cascade.json')
  const created = await runMain(['cascade', 'create', '--node', join(dir, 'mix1.desc'), '--node', join(dir, 'exit.desc'), '--out', cascade])
  t.equal(created.code, 0, created.err)
  t.match(created.out, /1 mix \+ exit, cell 2048 B/, 'prints the summary')
  const again = await runMain(['cascade', 'create', '--node', join(dir, 'mix1.desc'), '--node', join(dir, 'exit.desc'), '--out', cascade])
  t.equal(again.code, 2)
  t.match(again.err, /cascade\.json" already exists; refusing to overwrite it/)
  const reversed = await runMain(['cascade', 'create', '--node', join(dir, 'exit.desc'), '--node', join(dir, 'mix1.desc'), '--out', join(dir, 'other.json')])
  t.equal(reversed.code, 2)
  t.match(reversed.err, /hop 1 is an exit, but only the last hop may be one/, 'the exit must come last')

  const verified = await runMain(['cascade', 'verify', cascade])
  t.equal(verified.code, 0)
  t.equal(verified.out, created.out, 'verify prints the same summary')
  const pins = (JSON.parse(readFileSync(cascade, 'utf8')) as { hops: Array<{ identityKey: string }> }).hops.map((h) => h.identityKey)
  t.equal((await runMain(['cascade', 'verify', cascade, '--pin', pins[0]!, '--pin', pins[1]!])).code, 0, 'pinned in hop order')
  t.equal((await runMain(['cascade', 'verify', cascade, '--pin', pins[1]!])).code, 0, 'one pin: one of the hops')
  const swapped = await runMain(['cascade', 'verify', cascade, '--pin', pins[1]!, '--pin', pins[0]!])
  t.equal(swapped.code, 2, 'pins in the wrong order')
  t.match(swapped.err, /hop 1: signed by identity key [0-9a-f]{8}…, not the pinned [0-9a-f]{8}…/)
  const wrong = await runMain(['cascade', 'verify', cascade, '--pin', 'ab'.repeat(32)])
  t.equal(wrong.code, 2, 'a wrong pin')
  t.match(wrong.err, /no hop has the pinned identity key abababab…/)
  t.match((await runMain(['cascade', 'verify', cascade, '--pin', 'xyz'])).err, /--pin must be an identity key as 64 hex digits/)
})

t.test('cascade verify refuses a descriptor with one byte changed, or an expired one (status 2, clear reason)', async (t) => {
  const dir = t.testdir({})
  await writeTestSet(dir)
  const path = join(dir, 'cascade.json')
  const text = readFileSync(path, 'utf8')
  const identity = /"identityKey": "([0-9a-f]{64})"/.exec(text)![1]!
  const changes: Array<[string, string, RegExp]> = [
    ['a hop\'s address', text.replace('"127.0.0.1:40002"', '"127.0.0.1:40003"'), /cascade\.json": hop 2: the signature does not verify/],
    ['a link key digit', text.replace(/("linkKey": "[0-9a-f]{63})([0-9a-f])/, (_m, a: string, b: string) => a + (b === '0' ? '1' : '0')), /hop 1: the signature does not verify/],
    ['an identity key', text.replace(identity, identity.slice(0, -1) + (identity.endsWith('0') ? '1' : '0')), /hop 1: the signature does not verify/],
    ['the cascade\'s round', text.replace('"roundMs": 10', '"roundMs": 11'), /hop 1 signed roundMs 10, but the cascade says 11/],
    ['the validity', text.replace(/"validUntil": (\d+)/, (_m, n: string) => `"validUntil": ${Number(n) + 1}`), /validUntil must be the earliest hop's validUntil/],
    ['the case of a hex digit', text.replace(/"signature": "([0-9a-f]*?)([a-f])/, (_m, a: string, b: string) => `"signature": "${a}${b.toUpperCase()}`), /field "hops\[0\]\.signature": must be 64 bytes as 128 lowercase hex digits/],
  ]
  for (const [what, changed, message] of changes) {
    t.not(changed, text, `${what}: the file changed`)
    writeFileSync(path, changed)
    const result = await runMain(['cascade', 'verify', path])
    t.equal(result.code, 2, `${what}: status 2`)
    t.equal(result.out, '', `${what}: no summary`)
    t.match(result.err, message, `${what}: says what is wrong`)
  }

  const old = t.testdir({})
  await writeTestSet(old, { nowS: Date.now() / 1000 - 3 * 3600 })
  const expired = await runMain(['cascade', 'verify', join(old, 'cascade.json')])
  t.equal(expired.code, 2)
  t.match(expired.err, /cascade descriptor: expired at \d{4}-\d\d-\d\dT/)

  const missing = await runMain(['cascade', 'verify', join(old, 'nope.json')])
  t.equal(missing.code, 2)
  t.match(missing.err, /cannot read ".*nope\.json": no such file/)
  writeFileSync(join(old, 'notjson.json'), '{"type": "cascade",')
  t.match((await runMain(['cascade', 'verify', join(old, 'notjson.json')])).err, /notjson\.json": descriptor is not valid JSON: line 1/)
  t.match((await runMain(['cascade'])).err, /say what to do: create or verify/)
  t.match((await runMain(['cascade', 'check'])).err, /unknown action "check"/)
})
