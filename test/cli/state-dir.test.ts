/**
 * `mixgate up --state-dir DIR` writes a complete, reusable set: a private key dir and a
 * config per node (with an admin port each), the signed cascade descriptor, and a client
 * config that pins it and names the entry's /cascade; every config checks ok. An existing
 * set is never overwritten. (test/cli/separate-processes.test.ts runs such a set.)
 */
import t from 'tap'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { cryptoReady } from '../../src/crypto/index.js'
import { verifyCascadeDescriptor } from '../../src/directory/signed-cascade.js'
import { main } from '../../src/cli/main.js'
import { startCli } from './spawn-cli.js'

await cryptoReady()

t.test('up --state-dir writes key dirs, configs and a signed cascade that check ok', async (t) => {
  const dir = join(t.testdir({}), 'state')
  const up = startCli(t, ['up', '--state-dir', dir, '--socks', '127.0.0.1:0', '--mixes', '2', '--epoch-s', '600', '--exit-policy', 'accept 127.0.0.1:*', '--log-level', 'warn'])
  await up.waitForStdout(/try: .*\n/)
  t.same(await up.stop('SIGINT'), { code: 0, signal: null }, 'up stops with status 0')
  t.notMatch(up.stderr(), /[0-9a-f]{64}/, 'no key in the log')

  t.same(readdirSync(dir).sort(), ['cascade.json', 'client.json', 'exit', 'exit.json', 'mix1', 'mix1.json', 'mix2', 'mix2.json'],
    'the cascade, one config and one key dir per hop, the client config')
  t.equal(statSync(dir).mode & 0o777, 0o700, 'the directory is private')
  for (const name of ['mix1', 'mix2', 'exit']) {
    t.equal(statSync(join(dir, name)).mode & 0o777, 0o700, `${name}/ is private`)
    const files = readdirSync(join(dir, name)).sort()
    t.ok(['identity.key', 'link.key', 'onion-seed'].every((f) => files.includes(f)), `${name}/ holds the identity, link and onion keys (${files.join(' ')})`)
    t.ok(files.some((f) => /^tags-\d+\.clean$/.test(f)), `${name}/: the tag logs were closed cleanly`)
    for (const file of files) t.equal(statSync(join(dir, name, file)).mode & 0o777, 0o600, `${name}/${file} is mode 0600`)
  }

  const cascade = verifyCascadeDescriptor(JSON.parse(readFileSync(join(dir, 'cascade.json'), 'utf8')))
  t.equal(cascade.nodes.length, 3)
  t.equal(cascade.params.epochS, 600, '--epoch-s is signed into the cascade')
  const configs = Object.fromEntries(['mix1', 'mix2', 'exit', 'client'].map((name) => [name, JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as Record<string, unknown>]))
  t.match(configs.mix1, { role: 'mix', position: 1, keyDir: 'mix1', cascade: 'cascade.json', epochS: 600, admin: /^127\.0\.0\.1:\d+$/ })
  t.same(configs.mix1!.peers, [`http://${configs.mix2!.admin as string}`, `http://${configs.exit!.admin as string}`], 'the entry lists its peers\' admin URLs in hop order')
  t.notOk('peers' in configs.mix2!, 'only the entry has peers')
  // The SOCKS port and every node's admin port are refused before the operator's rule (R12).
  const refused = [configs.client!.socks, configs.mix1!.admin, configs.mix2!.admin, configs.exit!.admin, configs.client!.admin].map((a) => `reject ${a as string}`)
  t.same(configs.exit!.exitPolicy, [...refused, 'accept 127.0.0.1:*'], 'the exit policy refuses our own SOCKS and admin ports first')
  t.match(configs.exit, { role: 'exit', keyDir: 'exit' })
  t.match(configs.client, { role: 'client', cascade: 'cascade.json', cascadeUrl: `http://${configs.mix1!.admin as string}/cascade`, socks: /^127\.0\.0\.1:[1-9]\d*$/ })
  const ports = ['mix1', 'mix2', 'exit'].flatMap((n) => [configs[n]!.address, configs[n]!.admin]).concat(configs.client!.socks, configs.client!.admin)
  t.equal(new Set(ports).size, ports.length, 'every address and admin port is distinct')

  for (const name of ['mix1', 'mix2', 'exit', 'client']) {
    let out = ''
    const code = await main(['check-config', join(dir, `${name}.json`)], { out: (s) => { out += s }, err: () => {} })
    t.equal(code, 0, `${name}.json checks ok`)
    t.equal(out, 'ok\n')
  }
})

t.test('up refuses a state dir that already holds files (status 2, nothing started)', async (t) => {
  const dir = t.testdir({ 'cascade.json': '{}' })
  let err = ''
  const code = await main(['up', '--state-dir', dir, '--socks', '127.0.0.1:0'], { out: () => {}, err: (s) => { err += s } })
  t.equal(code, 2)
  t.match(err, /state dir ".*" is not empty/)
  t.same(readdirSync(dir), ['cascade.json'], 'nothing was written')
})
