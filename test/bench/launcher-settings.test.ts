/**
 * The bench and the labs start mixgate as `node [flags] bin/mixgate`, where node reads no #!
 * line; bench/launcher-settings.ts reads the line so that they give node what the launcher
 * gives it. Checked against the real bin/mixgate, and against lines it must leave alone.
 */
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { launcherSettings } from '../../bench/launcher-settings.js'
import { BIN } from '../cli/spawn-cli.js'

t.test("bin/mixgate's settings: the young-generation flag, no environment", async (t) => {
  const settings = launcherSettings(BIN)
  t.same(settings.env, {})
  t.same(settings.nodeFlags, ['--max-semi-space-size=2'])
})

t.test('a plain #! line, or none, gives no settings', async (t) => {
  const dir = t.testdir()
  const plain = join(dir, 'plain')
  writeFileSync(plain, '#!/usr/bin/env node\nconsole.log(1)\n')
  t.same(launcherSettings(plain), { env: {}, nodeFlags: [] }, 'env without -S runs node bare')
  const none = join(dir, 'none')
  writeFileSync(none, 'console.log(1)\n')
  t.same(launcherSettings(none), { env: {}, nodeFlags: [] })
  const flagsOnly = join(dir, 'flags')
  writeFileSync(flagsOnly, '#!/usr/bin/env -S node --expose-gc\n')
  t.same(launcherSettings(flagsOnly), { env: {}, nodeFlags: ['--expose-gc'] })
  const withEnv = join(dir, 'env')
  writeFileSync(withEnv, '#!/usr/bin/env -S A=1 B=x=y node --a --b\n')
  t.same(launcherSettings(withEnv), { env: { A: '1', B: 'x=y' }, nodeFlags: ['--a', '--b'] }, 'variables before node, split at their first =')
})
