/**
 * bin/mixgate's #! line carries the setting only a process's start can make (issue #17,
 * docs/BENCH.md "Launch settings"): node's --max-semi-space-size=2 for the main thread. The
 * systemd units run the same file
 * (ExecStart=mixgate …, test/systemd/units.test.ts), so this covers them too.
 *
 * Checked on a real start: bin/mixgate run as a program (not `node bin/mixgate`, which reads
 * no #! line), `up` with one mix, and the running process's command line and environment read
 * from /proc. What the settings save is measured, not asserted here (it depends on the load).
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { BIN, startCli } from './spawn-cli.js'

const SHEBANG = readFileSync(BIN, 'utf8').split('\n')[0]!
const NODE_FLAG = '--max-semi-space-size=2'

t.test('the #! line runs node through env -S with the young-generation flag', async (t) => {
  const words = SHEBANG.replace(/^#!/, '').split(' ')
  t.same(words.slice(0, 2), ['/usr/bin/env', '-S'], 'env -S splits the rest into words (Linux passes them as one)')
  const nodeAt = words.indexOf('node')
  t.equal(nodeAt, 2, 'node is the program, with no environment of its own (no MALLOC_*: BENCH.md "Launch settings")')
  t.same(words.slice(nodeAt + 1), [NODE_FLAG], 'the young generation flag, as node\'s own')
})

t.test('a mixgate started through its #! line runs with them', { skip: process.platform !== 'linux' && 'reads /proc' }, async (t) => {
  const up = startCli(t, ['up', '--socks', '127.0.0.1:0', '--mixes', '1', '--shaping', 'off', '--log-level', 'warn'], { command: BIN })
  await up.waitForStdout(/SOCKS5 proxy listening on/, 60_000)
  const pid = up.child.pid!
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
  const environ = Object.fromEntries(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter((e) => e !== '').map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]))
  t.match(argv[0], /(^|\/)node$/, 'the process is node (env replaced itself, keeping the pid)')
  t.equal(argv[1], NODE_FLAG, 'node got the flag')
  t.equal(argv[2], BIN, 'then the script')
  for (const name of ['MALLOC_ARENA_MAX', 'MALLOC_TRIM_THRESHOLD_']) t.equal(environ[name], process.env[name], `${name} as it was given: the launcher sets none`)
  const exit = await up.stop('SIGINT', 20_000)
  t.equal(exit.code, 0, 'up stops cleanly')
})
