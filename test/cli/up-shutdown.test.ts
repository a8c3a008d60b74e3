/**
 * `mixgate up` stops under load: SIGTERM while eight downloads of 64 MiB run through it, each
 * with a SOCKS user of its own (a circuit each), as in the run that once left the process
 * alive for 11 minutes after SIGTERM (src/node/hard-exit.ts), here at 1 MB/s each. The test
 * asserts that the process ends by itself, not how fast: `stop` allows it a minute, far past
 * the hard exit.
 */
import t from 'tap'
import type { Test } from 'tap'
import { spawn } from 'node:child_process'
import { startCli } from './spawn-cli.js'
import { startHttpServer } from './http-fixture.js'

const DOWNLOADS = 8
const BODY_BYTES = 64 * 1024 * 1024
/** What every download must have received before the signal: bytes flow on every circuit. */
const UNDER_WAY_BYTES = 128 * 1024
/**
 * Each download's rate: eight transfers in flight at the signal is the point, not their speed,
 * and the test shares the machine with others (tap runs two files at once).
 */
const RATE = '1M'

/** curl through `socks` as `user`; resolves once `bytes` arrived. The curl is killed at teardown. */
function download (t: Test, socks: string, user: string, url: string, bytes: number): Promise<void> {
  const curl = spawn('curl', ['-sS', '--max-time', '300', '--limit-rate', RATE, '--socks5-hostname', socks, '--proxy-user', `${user}:x`, '-o', '-', url], { stdio: ['ignore', 'pipe', 'ignore'] })
  t.teardown(() => { if (curl.exitCode === null && curl.signalCode === null) curl.kill('SIGKILL') })
  let received = 0
  return new Promise((resolve, reject) => {
    curl.stdout!.on('data', (chunk: Buffer) => {
      received += chunk.length
      if (received >= bytes) resolve()
    })
    curl.once('exit', (code) => reject(new Error(`curl as ${user} ended (status ${code}) after ${received} bytes`)))
  })
}

t.test('SIGTERM during eight 64 MiB downloads: up ends by itself', async (t) => {
  const http = await startHttpServer(t, BODY_BYTES)
  const up = startCli(t, ['up', '--socks', '127.0.0.1:0', '--exit-policy', 'accept 127.0.0.1:*', '--log-level', 'warn'])
  const [, socks] = await up.waitForStdout(/listening on (127\.0\.0\.1:\d+) /, 30_000)
  await up.waitForStdout(/try: .*\n/)
  const url = `http://127.0.0.1:${http.port}/body`
  await Promise.all(Array.from({ length: DOWNLOADS }, async (_, i) => await download(t, socks!, `site-${i}`, url, UNDER_WAY_BYTES)))

  const exit = await up.stop('SIGTERM', 60_000)
  t.equal(exit.signal, null, 'ended by its own stop, not killed (the hard exit kills only for a thread it cannot end)')
  t.ok(exit.code === 0 || exit.code === 1, `with status ${exit.code} (1 if the stop ran out of its grace period)`)
  t.notMatch(up.stderr(), /thread\.stuck|shutdown\.hard_exit/, 'no thread was stuck')
})
