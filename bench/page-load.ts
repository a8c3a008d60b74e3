/**
 * A browser page load: headless Chromium (Debian's, /usr/bin/chromium, as test/cascade/
 * browser.test.ts drives it) loads a page with 40 images from a loopback origin, directly or
 * through a SOCKS5 port. The page notes performance.now() at its load event (every image
 * fetched) in the DOM, which --dump-dom prints: the load time without Chromium's start-up.
 * A fresh profile directory per load, so nothing comes from its cache.
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { quantile } from './http-client.js'
import { listenLoopback, type LoopbackServer } from './loopback-server.js'

export const CHROMIUM = '/usr/bin/chromium'
export const PAGE_IMAGES = 40
const IMAGE_WIDTH = 96
const IMAGE_HEIGHT = 64
const LOAD_TIMEOUT_MS = 120_000

export interface PageLoadResult {
  readonly loads: number
  /** In-page: performance.now() at the load event, median and slowest, ms. */
  readonly p50Ms: number
  readonly maxMs: number
  /** The whole Chromium run (start-up, load, DOM dump, exit), median, ms. */
  readonly processP50Ms: number
}

/** A 24-bit BMP of random pixels (about 18 KiB): a valid image with no compression to undo. */
function bmp (width: number, height: number): Buffer {
  const rowBytes = Math.ceil((width * 3) / 4) * 4
  const header = Buffer.alloc(54)
  const size = 54 + rowBytes * height
  header.write('BM', 0, 'latin1')
  header.writeUInt32LE(size, 2)
  header.writeUInt32LE(54, 10)
  header.writeUInt32LE(40, 14)
  header.writeInt32LE(width, 18)
  header.writeInt32LE(height, 22)
  header.writeUInt16LE(1, 26)
  header.writeUInt16LE(24, 28)
  header.writeUInt32LE(rowBytes * height, 34)
  return Buffer.concat([header, randomBytes(rowBytes * height)])
}

const PAGE = '<!doctype html><html><head><title>bench</title></head><body>' +
  Array.from({ length: PAGE_IMAGES }, (_, i) => `<img src="/img/${i}.bmp" width="${IMAGE_WIDTH}" height="${IMAGE_HEIGHT}">`).join('') +
  '<p id="t">loading</p><script>addEventListener("load", () => { document.getElementById("t").textContent = "loadms:" + performance.now().toFixed(1) })</script>' +
  '</body></html>'

/** The page's origin on 127.0.0.1: `/` and `/img/<i>.bmp`, each image different bytes. */
export async function startPageOrigin (): Promise<LoopbackServer> {
  const images = Array.from({ length: PAGE_IMAGES }, () => bmp(IMAGE_WIDTH, IMAGE_HEIGHT))
  const server = createServer({ noDelay: true }, (req, res) => {
    const image = /^\/img\/([0-9]+)\.bmp$/.exec(req.url ?? '')
    const body = req.url === '/' ? Buffer.from(PAGE) : image === null ? undefined : images[Number(image[1])]
    if (body === undefined) { res.statusCode = 404; res.end(); return }
    res.setHeader('content-type', req.url === '/' ? 'text/html' : 'image/bmp')
    res.setHeader('cache-control', 'no-store')
    res.end(body)
  })
  return await listenLoopback(server)
}

export const chromiumAvailable = (): boolean => existsSync(CHROMIUM)

async function loadOnce (originPort: number, socksPort: number | undefined): Promise<{ pageMs: number, processMs: number }> {
  const profile = mkdtempSync(join(tmpdir(), 'mixgate-bench-chromium-'))
  const proxy = socksPort === undefined
    ? ['--no-proxy-server']
    // Chromium never proxies loopback unless told to: <-loopback> removes the implicit bypass.
    : [`--proxy-server=socks5://127.0.0.1:${socksPort}`, '--proxy-bypass-list=<-loopback>']
  const started = performance.now()
  try {
    const dom = await new Promise<string>((resolve, reject) => {
      execFile(CHROMIUM, [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
        `--user-data-dir=${profile}`, ...proxy,
        '--dump-dom', `http://127.0.0.1:${originPort}/`,
      ], { timeout: LOAD_TIMEOUT_MS, maxBuffer: 4 * 1024 * 1024 }, (err, stdout) => err === null ? resolve(stdout) : reject(err))
    })
    const match = /loadms:([0-9.]+)/.exec(dom)
    if (match === null) throw new Error(`chromium: the page did not reach its load event${socksPort === undefined ? '' : ` through SOCKS port ${socksPort}`}`)
    return { pageMs: Number(match[1]), processMs: performance.now() - started }
  } finally {
    rmSync(profile, { recursive: true, force: true })
  }
}

/** `loads` sequential page loads, each in a fresh Chromium, through `socksPort` if given. */
export async function measurePageLoad (originPort: number, socksPort: number | undefined, loads: number): Promise<PageLoadResult> {
  const runs: Array<{ pageMs: number, processMs: number }> = []
  for (let i = 0; i < loads; i++) runs.push(await loadOnce(originPort, socksPort))
  const page = runs.map((r) => r.pageMs)
  return { loads, p50Ms: quantile(page, 0.5), maxMs: Math.max(...page), processP50Ms: quantile(runs.map((r) => r.processMs), 0.5) }
}
