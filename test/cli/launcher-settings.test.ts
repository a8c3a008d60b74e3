/**
 * bin/mixgate carries the settings only a process's start can make (issue #17, docs/BENCH.md
 * "Launch settings"): jemalloc as the allocator when the system has it, and node's
 * --max-semi-space-size=2 for the main thread. /bin/sh runs the file first (its shell lines
 * are comments to node) and replaces itself with node. The systemd units run the same file
 * (ExecStart=mixgate …, test/systemd/units.test.ts), so this covers them too.
 *
 * Checked on real starts: bin/mixgate run as a program (not `node bin/mixgate`, which runs no
 * shell), `up` with one mix, and the running process's command line, environment and mapped
 * libraries read from /proc. What the settings save is measured, not asserted here (it
 * depends on the load).
 */
import t from 'tap'
import type { Test } from 'tap'
import { readFileSync } from 'node:fs'
import { BIN, runCli, startCli } from './spawn-cli.js'
import { jemallocInstalled } from '../helpers/jemalloc.js'

const NODE_FLAG = '--max-semi-space-size=2'
/** Which of the launcher's two behaviours this system shows. */
const JEMALLOC_HERE = jemallocInstalled()
const UP = ['up', '--socks', '127.0.0.1:0', '--mixes', '1', '--shaping', 'off', '--log-level', 'warn']
/** The caller's own allocator settings, removed so that the launcher's choice shows. */
const CLEAN = { MIXGATE_ALLOCATOR: undefined, LD_PRELOAD: undefined, MALLOC_CONF: undefined }

t.test('the file starts as a shell script whose lines are comments to node', async (t) => {
  const lines = readFileSync(BIN, 'utf8').split('\n')
  t.equal(lines[0], '#!/bin/sh', 'run by /bin/sh')
  t.match(lines[2], /^\/\/bin\/true; exec node --max-semi-space-size=2 "\$0" "\$@"$/, 'the last shell line replaces the shell with node and the flag, then this file')
})

interface Started { readonly argv: string[], readonly environ: Record<string, string>, readonly maps: string }

async function startThroughLauncher (t: Test, env: Record<string, string | undefined>): Promise<Started> {
  const up = startCli(t, UP, { command: BIN, env })
  await up.waitForStdout(/SOCKS5 proxy listening on/, 60_000)
  const pid = up.child.pid!
  const started = {
    argv: readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'),
    environ: Object.fromEntries(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter((e) => e !== '').map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)])),
    maps: readFileSync(`/proc/${pid}/maps`, 'utf8'),
  }
  const exit = await up.stop('SIGINT', 20_000)
  t.equal(exit.code, 0, 'up stops cleanly')
  return started
}

t.test('a mixgate started through the launcher runs node with the flag, and jemalloc if the system has it', { skip: process.platform !== 'linux' && 'reads /proc' }, async (t) => {
  const { argv, environ, maps } = await startThroughLauncher(t, CLEAN)
  t.match(argv[0], /(^|\/)node$/, 'the process is node (the shell replaced itself, keeping the pid)')
  t.equal(argv[1], NODE_FLAG, 'node got the flag')
  t.equal(argv[2], BIN, 'then the script')
  if (JEMALLOC_HERE) {
    t.equal(environ.LD_PRELOAD, 'libjemalloc.so.2', 'jemalloc preloaded by its library name')
    t.equal(environ.MALLOC_CONF, 'background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0', 'freed pages go back to the kernel after a second')
    t.match(maps, /libjemalloc\.so\.2/, 'and the running process has it mapped')
  } else {
    t.equal(environ.LD_PRELOAD, undefined, 'no jemalloc here: nothing preloaded')
    t.notMatch(maps, /libjemalloc/)
  }
})

t.test('MIXGATE_ALLOCATOR=system runs node on the C library\'s malloc', { skip: process.platform !== 'linux' && 'reads /proc' }, async (t) => {
  const { argv, environ, maps } = await startThroughLauncher(t, { ...CLEAN, MIXGATE_ALLOCATOR: 'system' })
  t.equal(argv[1], NODE_FLAG, 'the flag all the same')
  t.equal(environ.LD_PRELOAD, undefined, 'nothing preloaded')
  t.equal(environ.MALLOC_CONF, undefined)
  t.notMatch(maps, /libjemalloc/, 'no jemalloc mapped')
})

t.test('an unknown MIXGATE_ALLOCATOR is refused before node starts', async (t) => {
  const run = await runCli(['--version'], { command: BIN, env: { MIXGATE_ALLOCATOR: 'tcmalloc' } })
  t.equal(run.code, 2, 'exit status 2, as for any usage error')
  t.match(run.stderr, /MIXGATE_ALLOCATOR must be jemalloc or system, not 'tcmalloc'/)
  t.equal(run.stdout, '', 'and nothing ran')
})
