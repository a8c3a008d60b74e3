/**
 * The client's status page and proxy.pac from a running `mixgate up` (issue #15 item 5), as
 * a user reaches them, following the documented example (README, mixgate(1), `mixgate help
 * up`): up with a fixed `--admin 127.0.0.1:PORT`, then `curl -s http://127.0.0.1:PORT/proxy.pac`
 * gives a PAC whose
 * FindProxyForURL (evaluated in node:vm) names the printed SOCKS5 port, and the HTTP CONNECT
 * port for https: only; headless Chromium renders the page at the printed admin URL (its DOM
 * dumped with --dump-dom: the status table, the rung bars and the loop RTT plot) and takes a
 * screenshot, a PNG of the window's size saved under this test's temp dir (kept, and its path
 * printed, with MIXGATE_KEEP_SCREENSHOT=1).
 *
 * Needs Debian's chromium at /usr/bin/chromium (.ci/run installs it): skipped, saying so,
 * when it is absent. Everything stays on loopback: the page loads nothing else.
 */
import t, { type Test } from 'tap'
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { findProxy } from '../helpers/pac.js'
import { closedPort } from '../helpers/targets.js'
import { runCli, startCli } from './spawn-cli.js'

const CHROMIUM = '/usr/bin/chromium'
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync']
const WIDTH = 1000
const HEIGHT = 1300
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

const run = promisify(execFile)

const adminPort = await closedPort()
const up = startCli(t, ['up', '--socks', '127.0.0.1:0', '--http', '127.0.0.1:0', '--admin', `127.0.0.1:${adminPort}`, '--mixes', '1', '--log-level', 'warn'])
t.teardown(async () => { await up.stop('SIGTERM') })
await up.waitForStdout(/try: .*\n/, 30_000)
const out = up.stdout()
const socks = /^mixgate: SOCKS5 proxy listening on (127\.0\.0\.1:\d+) /m.exec(out)![1]!
const http = /^mixgate: HTTP CONNECT proxy listening on (127\.0\.0\.1:\d+)$/m.exec(out)![1]!
const admin = /^mixgate: admin (http:\/\/127\.0\.0\.1:\d+) /m.exec(out)![1]!

t.test('the docs show the example this file runs', async (t) => {
  const readme = readFileSync(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8')
  const man = readFileSync(fileURLToPath(new URL('../../../man/mixgate.1', import.meta.url)), 'utf8')
  const help = (await runCli(['help', 'up'])).stdout
  t.match(readme, 'npm start -- --admin 127.0.0.1:9100\ncurl -s http://127.0.0.1:9100/proxy.pac')
  t.match(man, '$ curl \\-s http://127.0.0.1:9100/proxy.pac')
  t.match(help, 'mixgate up --admin 127.0.0.1:9100')
  for (const text of [readme, man, help]) t.match(text, /--proxy-pac-url=http:\/\/127\.0\.0\.1:9100\/proxy\.pac|\\-\\-proxy\\-pac\\-url=http:\/\/127\.0\.0\.1:9100\/proxy\.pac/)
})

t.test('curl -s http://127.0.0.1:PORT/proxy.pac: every URL to the SOCKS5 port, https: also to the HTTP CONNECT port, never DIRECT', async (t) => {
  t.equal(admin, `http://127.0.0.1:${adminPort}`, 'up serves the admin port asked for')
  const { stdout: pac } = await run('curl', ['-s', `http://127.0.0.1:${adminPort}/proxy.pac`])
  t.notMatch(pac, /DIRECT/)
  const find = findProxy(pac)
  t.equal(find('http://example.org/', 'example.org'), `SOCKS5 ${socks}`)
  t.equal(find('https://example.org/', 'example.org'), `SOCKS5 ${socks}; PROXY ${http}`)
})

/** A fresh Chromium profile for one run, removed at teardown. */
function profile (t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'mixgate-status-chromium-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

async function chromium (t: Test, args: string[]): Promise<string> {
  const { stdout } = await run(CHROMIUM, [...CHROMIUM_FLAGS, `--user-data-dir=${profile(t)}`, ...args], { timeout: 90_000, maxBuffer: 4 << 20 })
  return stdout
}

/** GET the page until it has the plot: its first point comes with the first loop echo. */
async function waitForPlot (timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const page = await (await fetch(`${admin}/`)).text()
    if (page.includes('id="rtt-plot"')) return
    if (Date.now() > deadline) throw new Error('no loop came back: the page has no RTT plot yet')
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
}

const missing = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing: install Debian's chromium package (.ci/run does)`

t.test('headless Chromium renders the status page: its DOM, and a screenshot', { skip: missing }, async (t) => {
  await waitForPlot(60_000)
  const dom = await chromium(t, ['--dump-dom', `${admin}/`])
  t.match(dom, /<title>mixgate client: (ok|unhealthy)<\/title>/)
  t.match(dom, /<h1>mixgate client<\/h1>/)
  for (const label of ['health', 'streams', 'shaping', 'loop RTT', 'cover', 'anonymity set']) {
    t.match(dom, new RegExp(`<tr><th>${label}</th><td>[^<]+</td></tr>`), `the ${label} row`)
  }
  t.match(dom, /<tr><th>shaping<\/th><td>elastic/, 'up shapes with the elastic profile by default')
  t.match(dom, /<svg [^>]*id="rungs"/, 'the rung bars')
  t.match(dom, /<svg [^>]*id="rtt-plot"[\s\S]*<(polyline|circle) class="p50"/, 'the RTT plot with its p50 readings')

  const dir = mkdtempSync(join(tmpdir(), 'mixgate-status-page-'))
  if (process.env['MIXGATE_KEEP_SCREENSHOT'] === '1') t.comment(`screenshot kept in ${dir}`)
  else t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const shot = join(dir, 'status.png')
  await chromium(t, [`--window-size=${WIDTH},${HEIGHT}`, '--hide-scrollbars', `--screenshot=${shot}`, `${admin}/status.html`])
  const png = readFileSync(shot)
  t.same(png.subarray(0, 8), PNG_SIGNATURE, 'a PNG')
  t.equal(png.toString('latin1', 12, 16), 'IHDR')
  t.same([png.readUInt32BE(16), png.readUInt32BE(20)], [WIDTH, HEIGHT], 'of the window\'s size')
  // A blank white window of this size compresses to a few kB; text, bars and plot do not.
  t.ok(png.length > 20_000, `not blank (${png.length} bytes)`)
})
