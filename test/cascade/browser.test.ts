/**
 * A real browser through the cascade: headless Chromium with a SOCKS5 proxy loads a page
 * whose script and its data come from the origin through mixes and exit (remote DNS: Chromium's
 * socks5 scheme sends host names to the proxy). `.ci/run` installs Debian's chromium.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cryptoReady } from '../../src/crypto/index.js'
import { startCascade } from '../helpers/cascade.js'

await cryptoReady()
const CHROMIUM = '/usr/bin/chromium'

t.test('headless Chromium loads a page and its sub-resources through the cascade', async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.fail(`${CHROMIUM} is missing: install Debian's chromium package (.ci/run does)`)
    return
  }
  const requests: string[] = []
  const server = createServer((req, res) => {
    requests.push(req.url ?? '')
    if (req.url === '/app.js') {
      res.setHeader('content-type', 'text/javascript')
      res.end("fetch('/data.json').then((r) => r.json()).then((d) => { document.getElementById('out').textContent = 'loaded:' + d.word })")
    } else if (req.url === '/data.json') {
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ word: 'mixnet-ok' }))
    } else {
      res.setHeader('content-type', 'text/html')
      res.end('<!doctype html><html><body><p id="out">waiting</p><script src="/app.js"></script></body></html>')
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const port = (server.address() as { port: number }).port
  const cascade = await startCascade()
  t.teardown(() => cascade.stop())
  const profile = mkdtempSync(join(tmpdir(), 'mixgate-chromium-'))
  t.teardown(() => rmSync(profile, { recursive: true, force: true }))

  const dom = await new Promise<string>((resolve, reject) => {
    execFile(CHROMIUM, [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      `--user-data-dir=${profile}`,
      `--proxy-server=socks5://127.0.0.1:${cascade.socksPort}`,
      // Chromium never proxies loopback unless told to: this removes the implicit bypass.
      '--proxy-bypass-list=<-loopback>',
      '--virtual-time-budget=10000',
      '--dump-dom', `http://localhost:${port}/`,
    ], { timeout: 60_000, maxBuffer: 4 * 1024 * 1024 }, (err, stdout) => err === null ? resolve(stdout) : reject(err))
  })
  t.match(dom, /loaded:mixnet-ok/, 'the script ran and its fetch came back')
  t.ok(requests.includes('/app.js') && requests.includes('/data.json'), 'the origin served the sub-resources')
  t.ok(cascade.exit.node.exitStats.streamsOpened >= 1, 'the streams went through the exit')
})
