/**
 * What a user sees of `mixgate up` (issue #15, item 5): the client's admin URL is printed
 * at start, and `mixgate status` with no flag finds the running up and prints the client's
 * status; once up has stopped, status says none is running (status 2).
 */
import t from 'tap'
import { runCli, startCli } from './spawn-cli.js'

t.test('status with no flag finds the running up, and not after it stopped', async (t) => {
  const up = startCli(t, ['up', '--socks', '127.0.0.1:0', '--mixes', '1', '--log-level', 'warn'])
  await up.waitForStdout(/try: .*\n/, 30_000)
  const admin = /^mixgate: admin (http:\/\/127\.0\.0\.1:\d+) \(mixgate status\)$/m.exec(up.stdout())
  t.ok(admin, 'the admin URL is printed')
  const found = await runCli(['status'])
  t.equal(found.code, 0, found.stderr)
  t.match(found.stdout, /role +client/, 'the client\'s status')
  t.match(found.stdout, /healthy|ok/i)
  const direct = await runCli(['status', '--admin', admin![1]!])
  t.equal(direct.stdout.split('\n')[0], found.stdout.split('\n')[0], 'the same node as --admin with the printed URL')
  t.same(await up.stop('SIGINT'), { code: 0, signal: null })
  const after = await runCli(['status'])
  t.equal(after.code, 2)
  t.match(after.stderr, /no mixgate up is running on this machine/)
})
