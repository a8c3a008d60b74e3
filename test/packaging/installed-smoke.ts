/**
 * Test helper: what an operator does first with an installed mixgate, run on the installed
 * copy (`command`) in a temp dir, as subtests of `t`: --version, keygen, a short `up` on
 * loopback with a real curl through it to a local server, and check-config on the configs
 * that `up --state-dir` wrote. Both packages' tests run it, so both are held to the same.
 */
import type { Test } from 'tap'
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { curlThrough, runCli, startCli } from '../cli/spawn-cli.js'
import { startHttpServer } from '../cli/http-fixture.js'

const READY = /^mixgate: SOCKS5 proxy listening on (127\.0\.0\.1:\d+) \(1 mix \+ exit\)\n/

export async function installedSmoke (t: Test, command: string, dir: string, version: string): Promise<void> {
  await t.test(`${command} --version prints the package's version`, async (t) => {
    t.same(await runCli(['--version'], { command }), { code: 0, stdout: `mixgate ${version}\n`, stderr: '' })
  })

  await t.test(`${command} keygen writes a private key dir`, async (t) => {
    const keys = join(dir, 'keys')
    const { code, stdout, stderr } = await runCli(['keygen', '--dir', keys], { command })
    t.equal(code, 0, `exits 0 (stderr: ${stderr.trim() || 'empty'})`)
    t.match(stdout, /^identity [0-9a-f]{64}\nlink {5}[0-9a-f]{64}\n$/, 'prints the public identity and link keys')
    t.equal((await stat(keys)).mode & 0o777, 0o700, 'the key dir is 0700')
    t.equal((await stat(join(keys, 'identity.key'))).mode & 0o777, 0o600, 'identity.key is 0600')
  })

  await t.test(`${command} up carries curl's request through a loopback cascade, then check-config accepts what it wrote`, async (t) => {
    // A page, not a download: the point is that the installed copy carries a stream at all.
    const http = await startHttpServer(t, 64 * 1024 + 3)
    const state = join(dir, 'state')
    const up = startCli(t, ['up', '--socks', '127.0.0.1:0', '--mixes', '1', '--state-dir', state,
      '--exit-policy', 'accept 127.0.0.1:*', '--log-level', 'warn'], { command })
    await up.waitForStdout(/try: .*\n/, 30_000)
    const ready = READY.exec(up.stdout())
    if (ready === null) return t.fail(`no ready line in: ${up.stdout()}`)
    const got = await curlThrough(ready[1]!, `http://127.0.0.1:${http.port}/body`)
    t.ok(got.equals(http.body), `curl got the ${http.body.length} bytes intact`)
    t.same(await up.stop('SIGINT'), { code: 0, signal: null }, 'SIGINT stops it with status 0')

    for (const name of ['mix1.json', 'exit.json', 'client.json']) {
      t.same(await runCli(['check-config', join(state, name)], { command }), { code: 0, stdout: 'ok\n', stderr: '' }, `check-config ${name}: ok`)
    }
  })
}
