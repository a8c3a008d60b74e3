/**
 * A cascade started from the files `mixgate up --state-dir` wrote, one process per node as
 * an operator would run them: a page goes through it end to end with curl, the entry's admin
 * serves a fresh signed cascade the client accepts, SIGHUP changes the exit's policy without
 * a restart (and a broken config is refused while the exit keeps running), and each node
 * stops with status 0 on SIGTERM. Every process is killed at teardown if still running.
 */
import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { request } from 'undici'
import { cryptoReady } from '../../src/crypto/index.js'
import { verifyCascadeDescriptor } from '../../src/directory/signed-cascade.js'
import { curlThrough, runCli, startCli, type CliProcess } from './spawn-cli.js'
import { startHttpServer } from './http-fixture.js'

await cryptoReady()

t.test('the set up writes runs as one process per node', async (t) => {
  const http = await startHttpServer(t)
  const dir = join(t.testdir({}), 'state')

  const up = startCli(t, ['up', '--state-dir', dir, '--socks', '127.0.0.1:0', '--mixes', '2', '--exit-policy', 'accept 127.0.0.1:*'])
  await up.waitForStdout(/try: .*\n/)
  t.same(await up.stop('SIGINT'), { code: 0, signal: null }, 'up stops with status 0')
  const config = (name: string): Record<string, unknown> => JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as Record<string, unknown>
  const socks = config('client').socks as string

  // From the exit backwards, each once it is up, as an operator would (the ports are the
  // ones the configs name, freed by up a moment ago).
  const nodes: CliProcess[] = []
  const exit = startCli(t, ['exit', '--config', join(dir, 'exit.json')])
  nodes.push(exit)
  await exit.waitForStderr(/info exit node\.started role=exit hops=3 listen=127\.0\.0\.1:\d+ policyRules=\d+ admin=127\.0\.0\.1:\d+/)
  for (const position of [2, 1]) {
    const mix = startCli(t, ['mix', '--config', join(dir, `mix${position}.json`)])
    nodes.push(mix)
    await mix.waitForStderr(/successor\.connected/)
    // The successor link may come up before the start line is written: wait for that too.
    const started = new RegExp(`info mix\\[${position}\\] node\\.started role=mix position=${position} hops=3 listen=127\\.0\\.0\\.1:\\d+`)
    await mix.waitForStderr(started)
    t.match(mix.stderr(), started, `mix ${position} logs where it listens`)
  }
  const entryAdmin = `http://${config('mix1').admin as string}`
  const served = await request(`${entryAdmin}/cascade`)
  t.equal(served.statusCode, 200, 'the entry serves /cascade')
  const fresh = verifyCascadeDescriptor(await served.body.json())
  const onDisk = verifyCascadeDescriptor(JSON.parse(readFileSync(join(dir, 'cascade.json'), 'utf8')))
  t.same(Buffer.from(fresh.id), Buffer.from(onDisk.id), 'a fresh descriptor of the same cascade')
  t.ok(fresh.validFrom >= onDisk.validFrom, 'assembled now from the hops\' fresh descriptors')

  const client = startCli(t, ['client', '--config', join(dir, 'client.json')], { cwd: dir })
  nodes.push(client)
  await client.waitForStderr(/entry\.connected/)
  // Logged once the client's admin server is up (loaded on demand), which may be after the entry.
  await client.waitForStderr(/node\.started role=client/)
  t.match(client.stderr(), `node.started role=client hops=3 socks=${socks}`, 'the client logs its SOCKS address')

  const got = await curlThrough(socks, `http://localhost:${http.port}/body`)
  t.ok(got.equals(http.body), 'the body arrives intact through the separate processes')

  const status = await runCli(['status', '--admin', entryAdmin])
  t.equal(status.code, 0, 'mixgate status reads the entry\'s admin port')
  t.match(status.stdout, /successor up/)

  // SIGHUP: a broken file is refused and the exit carries on; a new policy applies at once.
  const exitConfig = readFileSync(join(dir, 'exit.json'), 'utf8')
  writeFileSync(join(dir, 'exit.json'), '{ "role": "exit",')
  exit.child.kill('SIGHUP')
  await exit.waitForStderr(/error exit reload\.failed .*CONFIG_SYNTAX/)
  t.ok((await curlThrough(socks, `http://localhost:${http.port}/body`)).equals(http.body), 'still carrying traffic after a refused reload')
  writeFileSync(join(dir, 'exit.json'), JSON.stringify({ ...JSON.parse(exitConfig), address: '127.0.0.1:1' }))
  exit.child.kill('SIGHUP')
  await exit.waitForStderr(/reload\.failed .*CLI_RELOAD_REFUSED.*\\"address\\" cannot change while the node runs/)
  writeFileSync(join(dir, 'exit.json'), JSON.stringify({ ...JSON.parse(exitConfig), exitPolicy: ['reject *:*'] }))
  exit.child.kill('SIGHUP')
  await exit.waitForStderr(/info exit reload\.applied changed=exitPolicy/)
  await t.rejects(curlThrough(socks, `http://localhost:${http.port}/body`), 'the exit refuses the stream under its new policy')

  for (const node of nodes.reverse()) {
    t.same(await node.stop('SIGTERM'), { code: 0, signal: null }, 'SIGTERM: status 0')
    t.equal(node.stdout(), '', 'a node writes nothing to standard output')
    t.notMatch(node.stderr(), /[0-9a-f]{64}/, 'no key in the log')
    t.notMatch(node.stderr(), /keys\.discarded|cascade\.onion_keys_differ|cascade\.expired/, 'the keys up left are the ones the cascade names, kept across the restart')
  }
})
