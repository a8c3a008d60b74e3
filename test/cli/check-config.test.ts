/**
 * Config files: a valid set checks "ok", and every kind of mistake exits 2 with only a
 * message on standard error that names the field or file, from both `check-config` and the
 * role commands (which then start nothing): missing fields, wrong types, unknown keys, key
 * dirs that are missing, unreadable or not private, a cascade that does not verify or does
 * not list this node, and parameters that differ from the cascade's. The published JSON
 * Schema is the one the validator's zod schemas generate.
 */
import t, { type Test } from 'tap'
import { chmodSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { cryptoReady } from '../../src/crypto/index.js'
import { main } from '../../src/cli/main.js'
import { clientConfigSpec } from '../../src/cli/config/client-config.js'
import { DEFAULT_FAIL_CLOSED } from '../../src/client/shaping/fail-closed-gate.js'
import { configJsonSchemaText } from '../../src/cli/config/config-schema.js'
import { exitConfigSpec } from '../../src/cli/config/exit-config.js'
import { mixConfigSpec } from '../../src/cli/config/mix-config.js'
import { loadRoleConfig, ROLES } from '../../src/cli/config/role-config.js'
import { changedFields } from '../../src/cli/reload.js'
import { ConfigError, validate, type ConfigIssue, type Spec } from '../../src/base/schema.js'
import { disposeSetup, setUpNode } from '../../src/node/start/node-setup.js'
import { DEFAULT_LINK_LIMITS } from '../../src/link/limits.js'
import { runCli } from './spawn-cli.js'
import { writeTestSet } from './state-set.js'

await cryptoReady()

/** A complete set (2 mixes + exit + client) in a fresh directory. */
async function stateSet (t: Test): Promise<string> {
  const dir = t.testdir({})
  await writeTestSet(dir)
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

t.test('a "$schema" key (for editors) is accepted in every role\'s file and ignored; other unknown keys are still refused', async (t) => {
  const dir = await stateSet(t)
  const schemaUrl = 'https://example.org/mixgate/docs/mixgate.conf.schema.json'
  for (const name of ['mix1.json', 'mix2.json', 'exit.json', 'client.json']) {
    const path = edit(dir, name, (c) => { c.$schema = schemaUrl })
    const { code, out, err } = await runMain(['check-config', path])
    t.same({ code, out, err }, { code: 0, out: 'ok\n', err: '' }, `${name}: accepted`)
    const config = await loadRoleConfig(path)
    t.equal((config as Record<string, unknown>).$schema, undefined, `${name}: not part of the config read`)
  }
  // A reload sees no change when only "$schema" differs.
  const before = await loadRoleConfig(edit(dir, 'exit.json', (c) => { delete c.$schema }))
  const after = await loadRoleConfig(edit(dir, 'exit.json', (c) => { c.$schema = './other.json' }))
  t.same(changedFields(before, after), [], 'a changed "$schema" is no change')
  const typo = edit(dir, 'mix1.json', (c) => { c.$schma = schemaUrl })
  const refused = await runMain(['check-config', typo])
  t.equal(refused.code, 2, 'a misspelt "$schema" is refused')
  t.match(refused.err, /unknown config field "\$schma" \(did you mean "\$schema"\?\)/)
  const other = edit(dir, 'client.json', (c) => { c.sock = '127.0.0.1:1080' })
  t.match((await runMain(['check-config', other])).err, /unknown config field "sock" \(did you mean "socks"\?\)/, 'other unknown keys: refused with a suggestion')
  const notText = edit(dir, 'exit.json', (c) => { c.$schema = 42 })
  t.match((await runMain(['check-config', notText])).err, /config field "\$schema": /, 'a "$schema" that is not a string is refused')
})

t.test('mistakes exit 2 and name the field', async (t) => {
  const cases: Array<[string, string, (c: Record<string, unknown>) => void, RegExp]> = [
    ['missing field', 'mix1.json', (c) => { delete c.position }, /config field "position": required/],
    ['missing key dir field', 'exit.json', (c) => { delete c.keyDir }, /config field "keyDir": required/],
    ['wrong type', 'mix1.json', (c) => { c.position = '1' }, /config field "position": must be an integer between 1 and 7, got "1"/],
    ['wrong type of a parameter', 'exit.json', (c) => { c.epochS = 'hourly' }, /config field "epochS": must be an integer/],
    ['unknown key with a suggestion', 'mix1.json', (c) => { c.minBatc = 4 }, /unknown config field "minBatc" \(did you mean "minBatch"\?\)/],
    ['a field of the old format', 'mix2.json', (c) => { c.linkKeyFile = 'mix2.link.key' }, /unknown config field "linkKeyFile"/],
    ['unknown role', 'mix1.json', (c) => { c.role = 'mux' }, /config field "role": expected one of "mix", "exit", "client", got "mux" \(did you mean "mix"\?\)/],
    ['no role', 'client.json', (c) => { delete c.role }, /config field "role": required/],
    ['position past the last mix', 'mix1.json', (c) => { c.position = 3; delete c.peers }, /config field "position": the cascade in ".*cascade\.json" has mixes at positions 1 to 2, got 3/],
    ['another hop\'s key dir', 'mix1.json', (c) => { c.keyDir = 'mix2' }, /config field "keyDir": the identity key in ".*mix2" is not the identity key of hop 1 \(mix 1\)/],
    ['a key dir that does not exist', 'mix2.json', (c) => { c.keyDir = 'nowhere' }, /config field "keyDir": key dir ".*nowhere" does not exist \(create the keys with: mixgate keygen --dir /],
    ['another address than the cascade\'s', 'mix2.json', (c) => { c.address = '127.0.0.1:40009' }, /config field "address": hop 2 \(mix 2\) of the cascade in ".*" is at 127\.0\.0\.1:40002, not 127\.0\.0\.1:40009/],
    ['another round than the cascade\'s', 'exit.json', (c) => { c.roundMs = 20 }, /config field "roundMs": the cascade in ".*" has roundMs 10, not 20/],
    ['peers at a mix that is not the entry', 'mix2.json', (c) => { c.peers = ['http://127.0.0.1:41003'] }, /config field "peers": only the entry mix/],
    ['too few peers', 'mix1.json', (c) => { c.peers = ['http://127.0.0.1:41002'] }, /config field "peers": lists 1 admin URL, but the cascade has 2 hops after the entry/],
    ['a peer that is not a URL', 'mix1.json', (c) => { c.peers = ['127.0.0.1:41002', 'http://x'] }, /config field "peers\[0\]": must be an http:\/\/ or https:\/\/ URL/],
    ['no cascade', 'exit.json', (c) => { delete c.cascade }, /config field "cascade": required to run the node/],
    ['a bad exit policy rule', 'exit.json', (c) => { c.exitPolicy = ['accept 127.0.0.1'] }, /config field "exitPolicy\[0\]": exit policy rule "accept 127\.0\.0\.1"/],
    ['a bad DNS server', 'exit.json', (c) => { c.dnsServers = ['dns.example:53'] }, /config field "dnsServers\[0\]": must be an IP address/],
    ['a bad admin address', 'exit.json', (c) => { c.admin = 9101 }, /config field "admin": expected HOST:PORT/],
    ['a bad SOCKS address', 'client.json', (c) => { c.socks = '1080' }, /config field "socks": expected HOST:PORT/],
    ['a cascade URL that is not one', 'client.json', (c) => { c.cascadeUrl = 'ftp://x/cascade' }, /config field "cascadeUrl": must be an http:\/\/ or https:\/\/ URL/],
    ['an unknown auth method', 'client.json', (c) => { c.auth = ['none', 'password'] }, /config field "auth\[1\]": expected one of "none", "userpass"/],
    ['a bad log level', 'client.json', (c) => { c.log = { level: 'verbose' } }, /config field "log.level": expected one of/],
    ['an unknown fail-closed rule', 'client.json', (c) => { c.failClosed = 'never' }, /config field "failClosed": expected one of "recover", "untilRestart"/],
    ['a loop alarm window under a second', 'client.json', (c) => { c.alarmWindowMs = 10 }, /config field "alarmWindowMs": must be an integer between 1000 and 604800000, got 10/],
    ['a recovery cap below the hold', 'client.json', (c) => { c.recoveryHoldMs = 60_000; c.recoveryHoldMaxMs = 30_000 }, /config field "recoveryHoldMaxMs": must be at least recoveryHoldMs \(60000\), got 30000/],
    ['a missing cascade file', 'client.json', (c) => { c.cascade = 'gone.json' }, /config field "cascade": cannot read cascade descriptor ".*gone\.json": no such file or directory \(ENOENT\)/],
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

t.test('link limits and linkIdleS: a bad value exits 2 naming the field; good ones reach the node\'s options', async (t) => {
  const cases: Array<[string, string, (c: Record<string, unknown>) => void, RegExp]> = [
    ['a zero cap', 'mix1.json', (c) => { c.maxHandshakes = 0 }, /config field "maxHandshakes": must be an integer between 1 and 16777216, got 0/],
    ['a fractional rate', 'exit.json', (c) => { c.handshakeRatePerSource = 2.5 }, /config field "handshakeRatePerSource": must be an integer between 1 and 16777216, got 2\.5/],
    ['a misspelt limit', 'mix2.json', (c) => { c.maxLinkPerSource = 8 }, /unknown config field "maxLinkPerSource" \(did you mean "maxLinksPerSource"\?\)/],
    ['a limit that is not a number', 'mix1.json', (c) => { c.maxLinks = '16k' }, /config field "maxLinks": must be an integer between 1 and 16777216, got "16k"/],
    ['a zero link idle time', 'exit.json', (c) => { c.linkIdleS = 0 }, /config field "linkIdleS": must be an integer between 1 and 604800, got 0/],
  ]
  for (const [what, name, change, message] of cases) {
    const path = edit(await stateSet(t), name, change)
    const { code, out, err } = await runMain(['check-config', path])
    t.equal(code, 2, `${what}: status 2`)
    t.equal(out, '', `${what}: nothing on standard output`)
    t.match(err, message, `${what}: names the field`)
  }

  const dir = await stateSet(t)
  const defaults = join(dir, 'mix1.json')
  const given = edit(dir, 'exit.json', (c) => { c.maxLinksPerSource = 8; c.handshakeRate = 50; c.linkIdleS = 60 })
  const mix = await setUpNode(await loadRoleConfig(defaults), defaults)
  const exit = await setUpNode(await loadRoleConfig(given), given)
  t.teardown(() => { disposeSetup(mix); disposeSetup(exit) })
  t.equal(mix.role === 'mix' && mix.options.linkIdleMs, 300_000, 'linkIdleS defaults to 300 s')
  t.same(mix.role === 'mix' && mix.options.linkLimits, DEFAULT_LINK_LIMITS, 'every limit defaults')
  t.equal(exit.role === 'exit' && exit.options.linkIdleMs, 60_000)
  t.same(exit.role === 'exit' && exit.options.linkLimits, { ...DEFAULT_LINK_LIMITS, maxLinksPerSource: 8, handshakeRate: 50 }, 'given limits on top of the defaults')
})

t.test('the client\'s fail-closed rule reaches its options: the defaults, or what the file says', async (t) => {
  const dir = await stateSet(t)
  const defaults = join(dir, 'client.json')
  const client = await setUpNode(await loadRoleConfig(defaults), defaults)
  t.same(client.role === 'client' && client.options.failClosed, DEFAULT_FAIL_CLOSED, 'recover, 10 min window, 30 s hold up to 30 min')
  t.equal(client.role === 'client' && client.options.alarmLimit, 3)
  const strict = join(dir, 'client-strict.json')
  writeFileSync(strict, JSON.stringify({ ...JSON.parse(readFileSync(defaults, 'utf8')), failClosed: 'untilRestart', alarmLimit: 1, alarmWindowMs: 60_000, recoveryHoldMs: 5000, recoveryHoldMaxMs: 5000 }))
  const given = await setUpNode(await loadRoleConfig(strict), strict)
  t.same(given.role === 'client' && given.options.failClosed, { mode: 'untilRestart', alarmWindowMs: 60_000, holdMs: 5000, maxHoldMs: 5000 })
  t.equal(given.role === 'client' && given.options.alarmLimit, 1)
})

t.test('a cascade that does not verify is named, with the hop and field at fault', async (t) => {
  const dir = await stateSet(t)
  edit(dir, 'cascade.json', (c) => { (c.hops as Array<Record<string, unknown>>)[1]!.address = '127.0.0.1:40007' })
  for (const name of ['client.json', 'mix1.json']) {
    const result = await runMain(['check-config', join(dir, name)])
    t.equal(result.code, 2, name)
    t.match(result.err, /config field "cascade": cascade descriptor ".*cascade\.json": hop 2: the signature does not verify/, `${name}: the changed hop is named`)
  }
  edit(dir, 'cascade.json', (c) => { c.cellSize = 'big' })
  t.match((await runMain(['check-config', join(dir, 'exit.json')])).err, /config field "cascade": .*field "cellSize": must be an integer/, 'a malformed field of the cascade is named too')
})

t.test('a client refuses an expired cascade unless it has a URL for a fresh one; a hop runs with it', async (t) => {
  const dir = t.testdir({})
  await writeTestSet(dir, { nowS: Date.now() / 1000 - 3 * 3600 })
  const client = await runMain(['check-config', edit(dir, 'client.json', (c) => { delete c.cascadeUrl })])
  t.equal(client.code, 2)
  t.match(client.err, /config field "cascade": cascade descriptor ".*cascade\.json": cascade descriptor: expired at /)
  t.equal((await runMain(['check-config', edit(dir, 'client.json', (c) => { c.cascadeUrl = 'http://127.0.0.1:41001/cascade' })])).code, 0, 'with cascadeUrl the file is still the trust anchor')
  t.equal((await runMain(['check-config', join(dir, 'mix1.json')])).code, 0, 'a hop needs only the cascade\'s signed topology')
})

t.test('an unreadable, malformed or exposed key file, or an exposed key dir, is named', async (t) => {
  const short = await stateSet(t)
  writeFileSync(join(short, 'mix1', 'link.key'), 'abcd\n')
  let result = await runMain(['check-config', join(short, 'mix1.json')])
  t.equal(result.code, 2)
  t.match(result.err, /config field "keyDir": key file ".*mix1\/link\.key" must hold 32 raw bytes or 64 hex digits, got 4 hex digits/)
  t.notMatch(result.err, /abcd/, 'the key file content is not quoted')

  const exposed = await stateSet(t)
  chmodSync(join(exposed, 'exit', 'identity.key'), 0o644)
  result = await runMain(['check-config', join(exposed, 'exit.json')])
  t.equal(result.code, 2)
  t.match(result.err, /config field "keyDir": key file ".*exit\/identity\.key" is accessible by group or others \(mode 0644\); run chmod 600 on it/)

  const openDir = await stateSet(t)
  chmodSync(join(openDir, 'mix2'), 0o777)
  result = await runMain(['check-config', join(openDir, 'mix2.json')])
  t.equal(result.code, 2)
  t.match(result.err, /config field "keyDir": key dir ".*mix2" is writable by group or others \(mode 0777\); run chmod 700 on it/)

  const missing = await stateSet(t)
  writeFileSync(join(missing, 'mix2', 'identity.key'), '')
  chmodSync(join(missing, 'mix2', 'identity.key'), 0o600)
  result = await runMain(['check-config', join(missing, 'mix2.json')])
  t.equal(result.code, 2)
  t.match(result.err, /config field "keyDir": key file ".*mix2\/identity\.key" must hold 32 raw bytes/)

  if (process.getuid?.() !== 0) { // root reads a file whatever its mode
    const locked = await stateSet(t)
    chmodSync(join(locked, 'mix2', 'link.key'), 0o000)
    result = await runMain(['check-config', join(locked, 'mix2.json')])
    t.match(result.err, /config field "keyDir": cannot read key file ".*mix2\/link\.key": permission denied \(EACCES\)/)
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

  chmodSync(join(dir, 'exit', 'link.key'), 0o640)
  const exposed = await runCli(['exit', '--config', join(dir, 'exit.json')])
  t.equal(exposed.code, 2, 'an exposed key file stops the exit before it starts')
  t.match(exposed.stderr, /^mixgate: config file ".*exit\.json" is invalid:\n {2}config field "keyDir": key file ".*link\.key" is accessible by group or others/)

  const notJson = join(dir, 'broken.json')
  writeFileSync(notJson, '{ "role": "client", }')
  const client = await runMain(['client', '--config', notJson])
  t.equal(client.code, 2)
  t.match(client.err, /broken\.json" is not valid JSON: line 1, column 21: trailing comma/)

  const unreadable = await runMain(['check-config', join(dir, 'absent.json')])
  t.equal(unreadable.code, 2)
  t.match(unreadable.err, /cannot read config file ".*absent\.json": no such file or directory/)
})

t.test('docs/mixgate.conf.schema.json is the JSON Schema of the validator, regenerated (npm run schema)', async (t) => {
  const published = readFileSync(join(process.cwd(), 'docs', 'mixgate.conf.schema.json'), 'utf8')
  t.equal(published, configJsonSchemaText(), 'the published schema is what the specs generate now')
  const schema = JSON.parse(published) as { oneOf: Array<{ properties: Record<string, { const?: string }>, required: string[], additionalProperties: boolean }> }
  const specs: Record<string, Spec<unknown>> = { mix: mixConfigSpec, exit: exitConfigSpec, client: clientConfigSpec }
  t.same(schema.oneOf.map((option) => option.properties['role']?.const), ROLES, 'one object per role, picked by "role"')
  for (const option of schema.oneOf) {
    const role = option.properties['role']!.const!
    t.equal(option.additionalProperties, false, `${role}: unknown fields are refused, as by the validator`)
    // Every field the schema requires, the validator calls required when it is left out.
    const issues = await configIssues(() => validate(specs[role]!, {}))
    t.same(issues.filter((issue) => issue.message.endsWith(': required')).map((issue) => issue.path).sort(), [...option.required].sort(),
      `${role}: the same required fields`)
  }
})

async function configIssues (fn: () => unknown): Promise<readonly ConfigIssue[]> {
  try {
    fn()
  } catch (err) {
    if (err instanceof ConfigError) return err.issues
    throw err
  }
  return []
}
