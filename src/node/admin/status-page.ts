/**
 * The admin port's HTML status page (issue #15 item 5): what `mixgate status` prints, as a
 * page a person can leave open — health, streams, shaping profile and rungs, loops, cover,
 * the anonymity set — and, at a shaped client, the loop RTT over time as a plot.
 *
 * Safe by default: the page is self-contained (no script at all, no external style, font or
 * image: it works with the network closed), every string in it is escaped (html.ts), it holds
 * only the aggregates /metrics already serves (R19), and it comes with a Content-Security-
 * Policy that allows nothing but its own inline style, by hash. It refreshes itself with a
 * meta refresh, which needs no script.
 */
import { createHash } from 'node:crypto'
import { sampleValue } from '../../base/metrics-text.js'
import { escapeHtml } from './html.js'
import { rttPlot } from './rtt-plot.js'
import type { RttSample } from './rtt-history.js'
import { statusLines, type NodeStatus } from './status-lines.js'

/** Seconds between the page's own reloads. */
export const STATUS_PAGE_REFRESH_S = 10

const STYLE = 'body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fff;max-width:60em}' +
  'h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.1em;margin:1.4em 0 .4em}' +
  '.badge{display:inline-block;padding:.1em .6em;border-radius:.6em;font-weight:600}' +
  '.ok{background:#d9f2dd;color:#14521f}.bad{background:#fadbd8;color:#7b1d14}' +
  'table{border-collapse:collapse}th{text-align:left;font-weight:600;padding:.15em 1.2em .15em 0;vertical-align:top;white-space:nowrap}' +
  'td{padding:.15em 0}.legend span{margin-right:1.2em}.k50{color:#08306b}.k90{color:#4292c6}.k99{color:#6baed6}.kexp{color:#c0392b}' +
  '.none{color:#666}footer{margin-top:2em;color:#666;font-size:.9em}a{color:#08519c}'

/** The page's Content-Security-Policy: nothing loads, nothing runs; only the style above applies. */
export const STATUS_PAGE_CSP = "default-src 'none'; " +
  `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'; ` +
  "img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

export interface StatusPageInput {
  readonly status: NodeStatus
  /** A client's loop RTT readings, oldest first; undefined for a node without loops. */
  readonly rtt?: { readonly samples: readonly RttSample[], readonly expectedMs: number }
  /** Whether the node serves /proxy.pac (a client), for the link at the foot. */
  readonly proxyPac?: boolean
  readonly nowMs: number
}

export function renderStatusPage (input: StatusPageInput): string {
  const { status } = input
  const healthy = status.httpStatus === 200 && status.health.status === 'ok'
  const lines = statusLines(status)
  const role = lines[0]?.[1] ?? '?'
  const rows = lines.map(([label, value]) => `<tr><th>${escapeHtml(label)}</th><td>${escapeHtml(value)}</td></tr>`).join('\n')
  const sections: string[] = []
  const rungs = rungBars(status)
  if (rungs !== '') sections.push(`<h2>Shaping rungs</h2>\n${rungs}`)
  if (input.rtt !== undefined) {
    sections.push('<h2>Loop round-trip time</h2>\n' +
      '<p class="legend"><span class="k50">&#9644; p50</span><span class="k90">&#9644; p90</span><span class="k99">&#9644; p99</span>' +
      '<span class="kexp">- - expected under</span></p>\n' +
      rttPlot({ samples: input.rtt.samples, expectedMs: input.rtt.expectedMs, nowMs: input.nowMs }))
  }
  const links = ['<a href="/metrics">/metrics</a>', '<a href="/healthz">/healthz</a>']
  if (input.proxyPac === true) links.push('<a href="/proxy.pac">/proxy.pac</a>')
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="${STATUS_PAGE_REFRESH_S}">
<meta name="referrer" content="no-referrer">
<title>mixgate ${escapeHtml(role)}: ${healthy ? 'ok' : 'unhealthy'}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>mixgate ${escapeHtml(role)}</h1>
<p id="health"><span class="badge ${healthy ? 'ok' : 'bad'}">${healthy ? 'healthy' : 'unhealthy'}</span></p>
<h2>Status</h2>
<table id="status">
${rows}
</table>
${sections.join('\n')}
<footer>Refreshes every ${STATUS_PAGE_REFRESH_S} s. Also here: ${links.join(', ')}.</footer>
</body>
</html>
`
}

/** Circuits per rung as bars (a shaped client); empty for anything else. */
function rungBars (status: NodeStatus): string {
  const counts: Array<[rung: number, circuits: number]> = []
  for (let rung = 0; rung < 16; rung++) {
    const count = sampleValue(status.metrics, 'mixgate_shaping_rung_circuits', { rung: String(rung) })
    if (count !== undefined && Number.isFinite(count) && count >= 0) counts.push([rung, count])
  }
  if (counts.length === 0) return ''
  const most = Math.max(1, ...counts.map(([, c]) => c))
  const rowH = 18
  const width = 420
  const barMax = 300
  const height = counts.length * rowH + 4
  const bars = counts.map(([rung, circuits], i) => {
    const y = 2 + i * rowH
    const w = Math.round((circuits / most) * barMax)
    return `<text x="0" y="${y + 13}" font-size="11" fill="#444">rung ${escapeHtml(rung)}</text>` +
      `<rect x="60" y="${y + 2}" width="${w}" height="${rowH - 6}" fill="#4292c6"/>` +
      `<text x="${66 + w}" y="${y + 13}" font-size="11" fill="#222">${escapeHtml(circuits)}</text>`
  }).join('')
  return `<svg xmlns="http://www.w3.org/2000/svg" id="rungs" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="circuits at each rung">${bars}</svg>`
}
