/**
 * The admin status page (issue #15 item 5): the RTT ring stays bounded and in order, the
 * sampler skips readings without an echo, the plot is an SVG of the readings with the
 * deadline, the page shows what `mixgate status` prints (escaped, no script, its style
 * allowed by the CSP hash and nothing else), and a client's admin port serves it at `/` and
 * `/status.html` with those headers, the hops' too, HEAD included.
 */
import t, { type Test } from 'tap'
import { createHash } from 'node:crypto'
import { Client, request } from 'undici'
import { ClientStats } from '../../../src/client/client-node.js'
import { HopStats } from '../../../src/hop/hop-stats.js'
import type { ClientShapingStatus } from '../../../src/client/client-stats.js'
import { registerClientMetrics } from '../../../src/client/client-metrics.js'
import { MetricsRegistry } from '../../../src/base/metrics-registry.js'
import { parsePrometheusText } from '../../../src/base/metrics-text.js'
import { createLogger } from '../../../src/base/logger.js'
import { escapeHtml } from '../../../src/node/admin/html.js'
import { startNodeAdmin, type NodeAdmin, type NodeAdminOptions } from '../../../src/node/admin/node-admin.js'
import { RttHistory, sampleRtt } from '../../../src/node/admin/rtt-history.js'
import { rttPlot } from '../../../src/node/admin/rtt-plot.js'
import { renderStatusPage, STATUS_PAGE_CSP } from '../../../src/node/admin/status-page.js'

const socks = { connections: 0, pending: 0, accepted: 0, rejected: {}, errors: {}, warnings: {} }

function shaping (over: Partial<ClientShapingStatus> = {}): ClientShapingStatus {
  return {
    profile: 'elastic', rungs: [2, 0, 0, 1], rungsForward: [3, 0, 0, 0], loopsSent: 120, loopsReturned: 118, loopsLost: 1, loopsLate: 1, loopAlarms: 1,
    loopIncidents: 0, failedClosed: false, failClosedEpisodes: 0, failClosedRecoveries: 0, failClosedHoldMs: 0, rttMs: { p50: 60, p90: 80, p99: 90 }, rttExpectedMs: 740, coverBytesOut: 12_300_000, coverBytesIn: 4_500_000,
    creationSlots: 5, roundsMissed: 0, rungsLimited: 0, congestions: { busy: 0, slow_echo: 0 }, capacityCells: NaN, entry: { createsPerSlot: 4, clients: 3 }, ...over,
  }
}

async function clientStatus (shape: ClientShapingStatus, healthy = true) {
  const registry = new MetricsRegistry()
  registerClientMetrics(registry, { stats: new ClientStats(), entryUp: healthy, socksCounters: socks, shaping: shape }, {})
  return {
    httpStatus: healthy ? 200 : 503,
    health: healthy ? { status: 'ok', role: 'client', uptimeS: 5 } : { status: 'unhealthy', role: 'client', uptimeS: 5, reason: 'entry_down' },
    metrics: parsePrometheusText(await registry.render()),
  }
}

t.test('escapeHtml leaves no markup', async (t) => {
  t.equal(escapeHtml('<a href="x">\'&\'</a>'), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;')
  t.equal(escapeHtml(12.5), '12.5')
})

t.test('the RTT ring keeps the newest readings, oldest first, and never more than its capacity', async (t) => {
  const ring = new RttHistory(3)
  for (let i = 1; i <= 5; i++) ring.add({ atMs: i, p50: i, p90: i, p99: i })
  t.same(ring.samples().map((s) => s.atMs), [3, 4, 5])
  t.throws(() => new RttHistory(0), RangeError)
})

t.test('the sampler stores a reading with an echo and skips one without', async (t) => {
  const withEcho = new RttHistory()
  sampleRtt(withEcho, () => ({ p50: 60, p90: NaN, p99: 90 }), 60_000, () => 1000).stop()
  t.same(withEcho.samples(), [{ atMs: 1000, p50: 60, p90: 60, p99: 90 }], 'a missing percentile falls back to p50')
  const without = new RttHistory()
  sampleRtt(without, () => ({ p50: NaN, p90: NaN, p99: NaN }), 60_000).stop()
  sampleRtt(without, () => undefined, 60_000).stop()
  t.same(without.samples(), [])
})

t.test('the plot draws three lines and the deadline from the readings', async (t) => {
  const now = 10 * 60_000
  const samples = [1, 2, 3, 4].map((i) => ({ atMs: i * 60_000, p50: 100 * i, p90: 150 * i, p99: 200 * i }))
  const svg = rttPlot({ samples, expectedMs: 740, nowMs: now })
  t.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^>]* id="rtt-plot"/)
  for (const key of ['p50', 'p90', 'p99']) t.match(svg, new RegExp(`<polyline class="${key}" points="([0-9.]+,[0-9.]+ ){3}[0-9.]+,[0-9.]+"`))
  t.match(svg, /<line class="expected"/)
  t.match(svg, />1000 ms</, 'the y axis ends at a round figure above the highest p99 (800)')
  t.match(svg, />9\.0 min ago</)
  t.match(rttPlot({ samples: samples.slice(0, 1), expectedMs: NaN, nowMs: now }), /<circle class="p50"/, 'one reading is a point')
  t.notMatch(rttPlot({ samples: samples.slice(0, 1), expectedMs: NaN, nowMs: now }), /class="expected"/, 'no deadline known, no line')
  t.match(rttPlot({ samples: [], expectedMs: 740, nowMs: now }), /^<p class="none">No loop has come back yet/)
})

t.test('the page shows the status lines, rungs and plot, with no script and a style the CSP allows by hash', async (t) => {
  const status = await clientStatus(shaping())
  const html = renderStatusPage({ status, rtt: { samples: [{ atMs: 1, p50: 60, p90: 80, p99: 90 }], expectedMs: 740 }, proxyPac: true, nowMs: 60_001 })
  t.match(html, /^<!doctype html>/)
  t.match(html, /<title>mixgate client: ok<\/title>/)
  t.match(html, /<meta http-equiv="refresh" content="10">/)
  t.match(html, /<tr><th>shaping<\/th><td>elastic, circuits at rungs 0:2 3:1<\/td><\/tr>/)
  t.match(html, /<tr><th>loop RTT<\/th><td>p50 60 ms, p90 80 ms, p99 90 ms \(expected under 740 ms\)<\/td><\/tr>/)
  t.match(html, /<tr><th>cover<\/th><td>12\.3 MB out, 4\.5 MB in<\/td><\/tr>/)
  t.match(html, /<tr><th>anonymity set<\/th><td>at least 4 circuits per creation slot at the entry \(median\), 3 clients connected<\/td><\/tr>/)
  t.match(html, /<svg [^>]*id="rungs"/)
  t.match(html, /<svg [^>]*id="rtt-plot"/)
  t.match(html, /<a href="\/proxy.pac">/)
  t.notMatch(html, /<script|javascript:|\son[a-z]+=|\sstyle="/i, 'no script, no event handler, no style attribute')
  t.notMatch(html, /(src|href)="(https?:)?\/\//, 'nothing from another origin')
  const style = /<style>([^<]*)<\/style>/.exec(html)![1]!
  t.ok(STATUS_PAGE_CSP.includes(`'sha256-${createHash('sha256').update(style).digest('base64')}'`), 'the CSP names the page\'s style by its hash')
  t.match(STATUS_PAGE_CSP, /^default-src 'none';/)
  t.notMatch(STATUS_PAGE_CSP, /unsafe/)

  const down = renderStatusPage({ status: await clientStatus(shaping(), false), nowMs: 0 })
  t.match(down, /<title>mixgate client: unhealthy<\/title>/)
  t.match(down, /<tr><th>health<\/th><td>unhealthy \(entry_down\)<\/td><\/tr>/)
  t.notMatch(down, /rtt-plot|proxy\.pac/, 'without readings or a PAC, neither is shown')
})

const LOOPBACK = { host: '127.0.0.1', port: 0 }

type Short<T> = T extends unknown ? Omit<T, 'logger' | 'address'> : never

async function admin (t: Test, options: Short<NodeAdminOptions>): Promise<NodeAdmin> {
  const started = await startNodeAdmin({ address: LOOPBACK, logger: createLogger({ role: 'test', level: 'error' }), ...options })
  t.teardown(() => started.close())
  return started
}

async function get (t: Test, base: string, path: string, method: 'GET' | 'HEAD' = 'GET') {
  const client = new Client(base)
  t.teardown(() => client.destroy())
  const response = await request(base + path, { dispatcher: client, method })
  return { status: response.statusCode, headers: response.headers, text: await response.body.text() }
}

t.test('a client\'s admin port serves the page at / and /status.html, with the CSP and no caching', async (t) => {
  const started = await admin(t, { role: 'client', node: { stats: new ClientStats(), entryUp: true, socksCounters: socks, shaping: shaping() } })
  for (const path of ['/', '/status.html', '/?x=1']) {
    const page = await get(t, started.url, path)
    t.equal(page.status, 200, path)
    t.equal(page.headers['content-type'], 'text/html; charset=utf-8')
    t.equal(page.headers['content-security-policy'], STATUS_PAGE_CSP)
    t.equal(page.headers['x-frame-options'], 'DENY')
    t.equal(page.headers['cache-control'], 'no-store')
    t.match(page.text, /<h1>mixgate client<\/h1>/)
    t.match(page.text, /<svg [^>]*id="rtt-plot"/, 'the sampler took its first reading at start')
  }
  const head = await get(t, started.url, '/', 'HEAD')
  t.equal(head.status, 200)
  t.equal(head.text, '', 'HEAD: headers only')
  t.equal((await get(t, started.url, '/proxy.pac')).status, 404, 'no doors given: no PAC')
})

t.test('an unshaped client\'s page has no plot; a hop\'s page shows its own lines', async (t) => {
  const off = await admin(t, { role: 'client', node: { stats: new ClientStats(), entryUp: true, socksCounters: socks, shaping: shaping({ profile: 'off', rungs: [] }) } })
  const page = await get(t, off.url, '/')
  t.match(page.text, /<tr><th>shaping<\/th><td>off<\/td><\/tr>/)
  t.notMatch(page.text, /Loop round-trip time/)
  const mix = { stats: new HopStats(), circuits: 2, predecessorLinks: 1, missedRounds: 0, successorUp: true, successorConnects: 1, successorFailures: 0 }
  const hop = await admin(t, { role: 'mix', node: mix, position: 1 })
  const hopPage = await get(t, hop.url, '/status.html')
  t.equal(hopPage.status, 200)
  t.match(hopPage.text, /<h1>mixgate mix, position 1<\/h1>/)
  t.match(hopPage.text, /<tr><th>circuits<\/th><td>2<\/td><\/tr>/)
  t.equal((await get(t, hop.url, '/proxy.pac')).status, 404, 'a hop serves no PAC')
})

t.test('the page and the PAC answer only a loopback Host (DNS rebinding), the other routes as before', async (t) => {
  const started = await admin(t, { role: 'client', node: { stats: new ClientStats(), entryUp: true, socksCounters: socks }, doors: { socks: { host: '127.0.0.1', port: 1080 } } })
  const port = started.address.port
  const withHost = async (path: string, host: string): Promise<number> => {
    const response = await request(`http://127.0.0.1:${port}${path}`, { headers: { host } })
    await response.body.dump()
    return response.statusCode
  }
  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, 'app.localhost']) {
    t.equal(await withHost('/', host), 200, `/ for Host ${host}`)
  }
  for (const path of ['/', '/status.html', '/proxy.pac']) {
    t.equal(await withHost(path, `rebound.example:${port}`), 403, `${path} refuses a foreign Host`)
  }
  t.equal(await withHost('/metrics', `rebound.example:${port}`), 200, '/metrics is left as it was')
})
