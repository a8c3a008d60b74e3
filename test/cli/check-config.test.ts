/**
 * Config files: a valid set checks "ok", and every kind of mistake exits 2 with only a
 * message on standard error that names the field or file, from both `check-config` and the
 * role commands (which then start nothing).
 */
import t, { type Test } from 'tap'
import { readFileSync, writeFileSync, chmodSync } from 'node:fs'
import { join } from 'node:path'
import { cryptoReady, x25519KeyPair } from '../../src/crypto/index.js'
import { makeCascade } from '../../src/directory/cascade.js'
import { writeStateSet } from '../../src/cli/state-dir.js'
import { main } from '../../src/cli/main.js'
import { runCli } from './spawn-cli.js'

await cryptoReady()

/** A complete state set (2 mixes + exit) in a fresh directory, as `up --state-dir` writes it. */
async function stateSet (t: Test): Promise<string> {
  const dir = t.testdir({})
  const keys = Array.from({ length: 3 }, () => ({ link: x25519KeyPair(), onion: x25519KeyPair() }))
  const cascade = makeCascade({
    cellSize: 2048,
    roundMs: 10,
    epoch: 0,
    hops: keys.map((k, i) => ({ role: i === 2 ? 'exit' as const : 'mix' as const, address: { host: '127.0.0.1', port: 40001 + i }, linkKey: k.link.publicKey, onionKey: k.onion.publicKey })),
  })
  await writeStateSet(dir, { cascade, keys, exitPolicy: ['accept 127.0.0.1:*'], socks: { host: '127.0.0.1', port: 1080 }, log: { level: 'info', format: 'text' } })
  return dir
}

/** Rewrite the JSON file `name` in `dir` with `change` applied. */
function edit (dir: string, name: string, change: (config: Record<string, unknown>) => void): string {
  const path = join(dir, name)
  const config = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>
  change(config)
  writeFileSync(path, JSON.stringify(config))
  return path
}

async function runMain (argv: string[]): Promise<{ code: number, out: string, err: string }> {
  let out = ''
  let err = ''
  const code = await main(argv, { out: (s) => { out += s }, err: (s) => { err += s } })
  return { code, out, err }
}

t.test('every file of a valid set checks ok', async (t) => {
  const dir = await stateSet(t)
  for (const name of ['mix1.json', 'mix2.json', 'exit.json', 'client.json']) {
    const { code, out, err } = await runMain(['check-config', join(dir, name)])
    t.equal(code, 0, name)
    t.equal(out, 'ok\n', `${name}: prints ok`)
    t.equal(err, '', `${name}: nothing on standard error`)
  }
  const spawned = await runCli(['check-config', 'mix2.json'], { cwd: dir })
  t.same(spawned, { code: 0, stdout: 'ok\n', stderr: '' }, 'relative paths resolve against the config file, from the command too')
})

t.test('mistakes exit 2 and name the field', async (t) => {
  const cases: Array<[string, string, (c: Record<string, unknown>) => void, RegExp]> = [
    ['missing field', 'mix1.json', (c) => { delete c.position }, /config field "position": required/],
    ['wrong type', 'mix1.json', (c) => { c.position = '1' }, /config field "position": must be an integer between 1 and 7, got "1"/],
    ['unknown key with a suggestion', 'mix1.json', (c) => { c.minBatc = 4 }, /unknown config field "minBatc" \(did you mean "minBatch"\?\)/],
    ['unknown role', 'mix1.json', (c) => { c.role = 'mux' }, /config field "role": expected one of "mix", "exit", "client", got "mux" \(did you mean "mix"\?\)/],
    ['no role', 'client.json', (c) => { delete c.role }, /config field "role": required/],
    ['position past the last mix', 'mix1.json', (c) => { c.position = 3 }, /config field "position": the cascade in ".*cascade\.json" has mixes at positions 1 to 2, got 3/],
    ['another hop\'s key', 'mix1.json', (c) => { c.linkKeyFile = 'mix2.link.key' }, /config field "linkKeyFile": the key in ".*mix2\.link\.key" is not the link key of hop 1/],
    ['a bad exit policy rule', 'exit.json', (c) => { c.exitPolicy = ['accept 127.0.0.1'] }, /config field "exitPolicy\[0\]": exit policy rule "accept 127\.0\.0\.1"/],
    ['a bad DNS server', 'exit.json', (c) => { c.dnsServers = ['dns.example:53'] }, /config field "dnsServers\[0\]": must be an IP address/],
    ['a bad SOCKS address', 'client.json', (c) => { c.socks = '1080' }, /config field "socks": expected HOST:PORT/],
    ['an unknown auth method', 'client.json', (c) => { c.auth = ['none', 'password'] }, /config field "auth\[1\]": expected one of "none", "userpass"/],
    ['a bad log level', 'client.json', (c) => { c.log = { level: 'verbose' } }, /config field "log.level": expected one of/],
    ['a missing cascade file', 'client.json', (c) => { c.cascade = 'gone.json' }, /config field "cascade": cannot read config file ".*gone\.json": no such file or directory \(ENOENT\)/],
  ]
  for (const [what, name, change, message] of cases) {
    const copy = await stateSet(t)
    const path = edit(copy, name, change)
    const { code, out, err } = await runMain(['check-config', path])
    t.equal(code, 2, `${what}: status 2`)
    t.equal(out, '', `${what}: nothing on standard output`)
    t.match(err, message, `${what}: names the field`)
  }
})

t.test('a cascade file that does not fit is named', async (t) => {
  const dir = await stateSet(t)
  edit(dir, 'cascade.json', (c) => { (c.hops as Array<Record<string, unknown>>)[2]!.role = 'mix' })
  const result = await runMain(['check-config', join(dir, 'client.json')])
  t.equal(result.code, 2)
  t.match(result.err, /config field "cascade": cascade file ".*cascade\.json" is invalid: cascade hop 3 must be the exit/)
  edit(dir, 'cascade.json', (c) => { c.cellSize = 'big' })
  t.match((await runMain(['check-config', join(dir, 'mix1.json')])).err, /config field "cellSize": must be an integer/, 'a field of the cascade file is named too')
})

t.test('an unreadable or malformed key file is named', async (t) => {
  const missing = await stateSet(t)
  edit(missing, 'exit.json', (c) => { c.onionKeyFile = 'nope.key' })
  let result = await runMain(['check-config', join(missing, 'exit.json')])
  t.equal(result.code, 2)
  t.match(result.err, /config field "onionKeyFile": cannot read key file ".*nope\.key": no such file or directory \(ENOENT\)/)

  const short = await stateSet(t)
  writeFileSync(join(short, 'mix1.link.key'), 'abcd\n')
  result = await runMain(['check-config', join(short, 'mix1.json')])
  t.equal(result.code, 2)
  t.match(result.err, /config field "linkKeyFile": key file ".*mix1\.link\.key" must hold 32 raw bytes or 64 hex digits, got 4 hex digits/)
  t.notMatch(result.err, /abcd/, 'the key file content is not quoted')

  if (process.getuid?.() !== 0) { // root reads a file whatever its mode
    const locked = await stateSet(t)
    chmodSync(join(locked, 'mix2.onion.key'), 0o000)
    result = await runMain(['check-config', join(locked, 'mix2.json')])
    t.match(result.err, /cannot read key file ".*mix2\.onion\.key": permission denied \(EACCES\)/)
  }
})

t.test('the role commands refuse a bad config before starting anything (status 2, stderr only)', async (t) => {
  const dir = await stateSet(t)
  edit(dir, 'mix1.json', (c) => { c.minBatc = 1 })
  const mix = await runCli(['mix', '--config', join(dir, 'mix1.json')])
  t.equal(mix.code, 2)
  t.equal(mix.stdout, '')
  t.match(mix.stderr, /^mixgate: config file ".*mix1\.json" is invalid:\n {2}unknown config field "minBatc" \(did you mean "minBatch"\?\)\n$/, 'only the message, no log lines')

  const wrongRole = await runCli(['exit', '--config', join(dir, 'client.json')])
  t.equal(wrongRole.code, 2)
  t.match(wrongRole.stderr, /is for the client role, not exit/)

  const notJson = join(dir, 'broken.json')
  writeFileSync(notJson, '{ "role": "client", }')
  const client = await runMain(['client', '--config', notJson])
  t.equal(client.code, 2)
  t.match(client.err, /broken\.json" is not valid JSON: line 1, column 21: trailing comma/)

  const unreadable = await runMain(['check-config', join(dir, 'absent.json')])
  t.equal(unreadable.code, 2)
  t.match(unreadable.err, /cannot read config file ".*absent\.json": no such file or directory/)
})
