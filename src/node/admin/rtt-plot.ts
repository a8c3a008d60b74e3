/**
 * The loop RTT over time as an inline SVG, drawn here rather than in the browser: the status
 * page carries no script (its Content-Security-Policy forbids any), needs no network, and
 * reads the same in any browser or in a text dump.
 *
 * Three lines (p50, p90, p99 of the recent loops at each reading), the deadline an honest
 * cascade meets as a dashed line, a y axis from 0 ms to a round figure above both, and the
 * x axis in minutes before now. Only numbers go into the markup, each escaped all the same.
 */
import { escapeHtml } from './html.js'
import type { RttSample } from './rtt-history.js'

const WIDTH = 640
const HEIGHT = 220
const LEFT = 64
const RIGHT = 16
const TOP = 12
const BOTTOM = 30

export interface RttPlotInput {
  /** Oldest first (RttHistory.samples()). */
  readonly samples: readonly RttSample[]
  /** The deadline an honest cascade meets, ms (NaN when unknown: no line). */
  readonly expectedMs: number
  readonly nowMs: number
}

/** The `<svg>` element; with no samples, a short text in its place. */
export function rttPlot (input: RttPlotInput): string {
  const { samples, expectedMs, nowMs } = input
  if (samples.length === 0) return '<p class="none">No loop has come back yet: the plot starts with the first echo.</p>'
  const oldest = samples[0]!.atMs
  // At least a minute wide, so that a few early readings do not spread over the whole axis.
  const spanMs = Math.max(60_000, nowMs - oldest)
  const highest = Math.max(...samples.map((s) => s.p99), Number.isFinite(expectedMs) ? expectedMs : 0, 1)
  const yMax = roundUp(highest * 1.1)
  const plotW = WIDTH - LEFT - RIGHT
  const plotH = HEIGHT - TOP - BOTTOM
  const x = (atMs: number): number => LEFT + plotW * (1 - (nowMs - atMs) / spanMs)
  const y = (ms: number): number => TOP + plotH * (1 - Math.min(ms, yMax) / yMax)
  const parts: string[] = []
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" class="plot" id="rtt-plot" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-labelledby="rtt-plot-title">`)
  parts.push(`<title id="rtt-plot-title">Loop round-trip time, ${escapeHtml(samples.length)} readings over the last ${escapeHtml(minutes(spanMs))} min</title>`)
  parts.push(`<rect x="${LEFT}" y="${TOP}" width="${plotW}" height="${plotH}" fill="#fafafa" stroke="#bbb"/>`)
  for (const fraction of [0, 0.5, 1]) {
    const value = yMax * fraction
    const at = fixed(y(value))
    parts.push(`<line x1="${LEFT}" y1="${at}" x2="${LEFT + plotW}" y2="${at}" stroke="#e4e4e4"/>`)
    parts.push(`<text x="${LEFT - 6}" y="${fixed(y(value) + 4)}" text-anchor="end" font-size="11" fill="#444">${escapeHtml(value.toFixed(0))} ms</text>`)
  }
  parts.push(`<text x="${LEFT}" y="${HEIGHT - 10}" font-size="11" fill="#444">${escapeHtml(minutes(spanMs))} min ago</text>`)
  parts.push(`<text x="${LEFT + plotW}" y="${HEIGHT - 10}" text-anchor="end" font-size="11" fill="#444">now</text>`)
  if (Number.isFinite(expectedMs)) {
    const at = fixed(y(expectedMs))
    parts.push(`<line class="expected" x1="${LEFT}" y1="${at}" x2="${LEFT + plotW}" y2="${at}" stroke="#c0392b" stroke-dasharray="6 4"/>`)
  }
  for (const [key, colour, width] of [['p99', '#6baed6', 1.5], ['p90', '#4292c6', 1.5], ['p50', '#08306b', 2]] as const) {
    const points = samples.map((s) => `${fixed(x(s.atMs))},${fixed(y(s[key]))}`)
    if (samples.length === 1) {
      parts.push(`<circle class="${key}" cx="${fixed(x(samples[0]!.atMs))}" cy="${fixed(y(samples[0]![key]))}" r="3" fill="${colour}"/>`)
    } else {
      parts.push(`<polyline class="${key}" points="${escapeHtml(points.join(' '))}" fill="none" stroke="${colour}" stroke-width="${width}"/>`)
    }
  }
  parts.push('</svg>')
  return parts.join('')
}

/** 1, 2 or 5 times a power of ten, at least `value`. */
function roundUp (value: number): number {
  const power = 10 ** Math.floor(Math.log10(value))
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power
  return 10 * power
}

function minutes (ms: number): string {
  const m = ms / 60_000
  return m < 10 ? m.toFixed(1) : m.toFixed(0)
}

function fixed (n: number): string {
  return n.toFixed(1)
}
