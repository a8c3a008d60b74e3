/** One line per target, as `npm run fuzz` prints them. */
import type { TargetReport } from './engine.js'

export function reportLine (r: TargetReport): string {
  const codes = Object.keys(r.codes).sort().join(',') || '-'
  const outcomes = Object.entries(r.outcomes).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}:${v}`).join(',') || '-'
  const capped = r.timeCapped ? ` (time cap: ${r.inputs} of ${r.inputsPlanned})` : ''
  const note = r.note === undefined ? '' : `  [${r.inputsPlanned} inputs: ${r.note}]`
  return `${r.name.padEnd(22)} ${String(r.inputs).padStart(9)} inputs ${r.seconds.toFixed(1).padStart(6)} s  escapes ${r.escapes}  ` +
    `codes ${codes}  outcomes ${outcomes}  slowest ${r.slowest.ms} ms (#${r.slowest.index})${capped}${note}`
}

export function escapeLines (r: TargetReport): string[] {
  return r.distinctEscapes.flatMap((e) => [
    `  ESCAPE ${r.name} #${e.index}: ${e.error}: ${e.message}`,
    `    input ${e.inputHex.length > 200 ? e.inputHex.slice(0, 200) + '…' : e.inputHex}`,
    ...e.stack.split('\n').slice(1, 5).map((l) => `    ${l.trim()}`),
    ...(e.file === undefined ? [] : [`    saved ${e.file}`]),
  ])
}
