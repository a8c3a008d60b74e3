/**
 * The bench and the labs start mixgate as `node [flags] bin/mixgate`, where neither /bin/sh
 * nor the #! line is involved; bench/launcher-settings.ts runs the launcher's shell lines so
 * that they give node what the launcher gives it. Checked against the real bin/mixgate (with
 * and without jemalloc, as the caller's environment chooses), and against files it must
 * leave alone.
 */
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { launcherSettings } from '../../bench/launcher-settings.js'
import { BIN } from '../cli/spawn-cli.js'
import { jemallocInstalled } from '../helpers/jemalloc.js'

/** Which of the launcher's two behaviours this system shows. */
const JEMALLOC_HERE = jemallocInstalled()

/** Runs `fn` with the process environment changed as `changes` says (undefined removes). */
function withEnv<T> (changes: Record<string, string | undefined>, fn: () => T): T {
  const saved = Object.fromEntries(Object.keys(changes).map((name) => [name, process.env[name]]))
  const apply = (values: Record<string, string | undefined>): void => {
    for (const [name, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[name]
      else process.env[name] = value
    }
  }
  apply(changes)
  try { return fn() } finally { apply(saved) }
}

t.test("bin/mixgate's settings: the young-generation flag, and jemalloc where the system has it", async (t) => {
  const settings = withEnv({ MIXGATE_ALLOCATOR: undefined, LD_PRELOAD: undefined, MALLOC_CONF: undefined }, () => launcherSettings(BIN))
  t.same(settings.nodeFlags, ['--max-semi-space-size=2'])
  if (JEMALLOC_HERE) {
    t.same(settings.env, { LD_PRELOAD: 'libjemalloc.so.2', MALLOC_CONF: 'background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0' }, 'jemalloc preloaded by its library name, pages returned a second after they are freed')
  } else {
    t.same(settings.env, {}, 'no jemalloc on this system: nothing preloaded')
  }
})

t.test('MIXGATE_ALLOCATOR=system keeps the C library\'s malloc; a MALLOC_CONF of the caller is kept', async (t) => {
  const system = withEnv({ MIXGATE_ALLOCATOR: 'system', LD_PRELOAD: undefined }, () => launcherSettings(BIN))
  t.same(system, { env: {}, nodeFlags: ['--max-semi-space-size=2'] })
  const own = withEnv({ MIXGATE_ALLOCATOR: undefined, LD_PRELOAD: undefined, MALLOC_CONF: 'dirty_decay_ms:0' }, () => launcherSettings(BIN))
  t.equal(own.env.MALLOC_CONF, undefined, 'the caller\'s MALLOC_CONF is not changed, so it is not a setting of the launcher')
  t.throws(() => withEnv({ MIXGATE_ALLOCATOR: 'tcmalloc' }, () => launcherSettings(BIN)), /MIXGATE_ALLOCATOR must be jemalloc or system, not 'tcmalloc'/, 'an unknown allocator is refused, as the launcher refuses it')
})

t.test('a file that is not such a launcher gives no settings', async (t) => {
  const dir = t.testdir()
  const write = (name: string, text: string): string => { const path = join(dir, name); writeFileSync(path, text); return path }
  t.same(launcherSettings(write('plain', '#!/usr/bin/env node\nconsole.log(1)\n')), { env: {}, nodeFlags: [] }, 'a node script')
  t.same(launcherSettings(write('none', 'console.log(1)\n')), { env: {}, nodeFlags: [] }, 'no #! line')
  t.same(launcherSettings(write('noexec', '#!/bin/sh\n//bin/true; export A=1\n')), { env: {}, nodeFlags: [] }, 'shell lines that do not end by starting node')
  t.same(launcherSettings(write('sh', '#!/bin/sh\n//bin/true; export A=1 B=x=y\n//bin/true; exec node --a --b "$0" "$@"\nconsole.log(1)\n')),
    { env: { A: '1', B: 'x=y' }, nodeFlags: ['--a', '--b'] }, 'what the lines before the exec set, split at the first =, and the exec line\'s flags')
})
