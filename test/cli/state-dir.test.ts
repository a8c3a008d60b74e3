/**
 * `mixgate up --state-dir DIR` writes a set from which the nodes run as separate processes:
 * the exit, each mix and the client started from DIR's configs carry a page end to end,
 * and each stops with status 0 on SIGTERM.
 */
import t from 'tap'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { main } from '../../src/cli/main.js'
import { curlThrough, startCli, type CliProcess } from './spawn-cli.js'
import { startHttpServer } from './http-fixture.js'

t.test('the set up writes runs as one process per node', async (t) => {
  const http = await startHttpServer(t)
  const dir = join(t.testdir({}), 'state')

  const up = startCli(t, ['up', '--state-dir', dir, '--socks', '127.0.0.1:0', '--mixes', '2', '--exit-policy', 'accept 127.0.0.1:*'])
  await up.waitForStdout(/try: .*\n/)
  t.same(await up.stop('SIGINT'), { code: 0, signal: null }, 'up stops with status 0')

  t.same(readdirSync(dir).sort(), [
    'cascade.json', 'client.json', 'exit.json', 'exit.link.key', 'exit.onion.key',
    'mix1.json', 'mix1.link.key', 'mix1.onion.key', 'mix2.json', 'mix2.link.key', 'mix2.onion.key',
  ], 'the cascade, one config per node, two key files per hop')
  t.equal(statSync(dir).mode & 0o777, 0o700, 'the directory is private')
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.key'))) {
    t.equal(statSync(join(dir, name)).mode & 0o777, 0o600, `${name} is mode 0600`)
    t.match(readFileSync(join(dir, name), 'utf8'), /^[0-9a-f]{64}\n$/, `${name} holds 64 hex digits`)
  }
  const socks = (JSON.parse(readFileSync(join(dir, 'client.json'), 'utf8')) as { socks: string }).socks
  t.match(socks, /^127\.0\.0\.1:[1-9][0-9]*$/, 'client.json names the SOCKS port up used')

  // From the exit backwards, each once it is up, as an operator would (the ports are the
  // ones the cascade file names, freed by up a moment ago).
  const nodes: CliProcess[] = []
  const exit = startCli(t, ['exit', '--config', join(dir, 'exit.json')])
  nodes.push(exit)
  await exit.waitForStderr(/info exit node\.started role=exit hops=3 listen=127\.0\.0\.1:\d+/)
  for (const position of [2, 1]) {
    const mix = startCli(t, ['mix', '--config', join(dir, `mix${position}.json`)])
    nodes.push(mix)
    await mix.waitForStderr(/successor\.connected/)
    t.match(mix.stderr(), new RegExp(`info mix\\[${position}\\] node\\.started role=mix position=${position} hops=3 listen=127\\.0\\.0\\.1:\\d+`), `mix ${position} logs where it listens`)
  }
  const client = startCli(t, ['client', '--config', join(dir, 'client.json')], { cwd: dir })
  nodes.push(client)
  await client.waitForStderr(/entry\.connected/)
  t.match(client.stderr(), `node.started role=client hops=3 socks=${socks}`, 'the client logs its SOCKS address')

  const got = await curlThrough(socks, `http://localhost:${http.port}/body`)
  t.ok(got.equals(http.body), 'the body arrives intact through the separate processes')

  for (const node of nodes.reverse()) {
    t.same(await node.stop('SIGTERM'), { code: 0, signal: null }, 'SIGTERM: status 0')
    t.equal(node.stdout(), '', 'a node writes nothing to standard output')
    t.notMatch(node.stderr(), /[0-9a-f]{64}/, 'no key in the log')
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
