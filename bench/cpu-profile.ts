/**
 * Reads a V8 .cpuprofile (as `node --cpu-prof` writes it) and lists the hot spots: self time
 * per function (name, file:line) and per source file, and the inclusive time of mixgate's own
 * functions (which role or layer the time is spent under); idle time left out. Used on the
 * `mixgate up` child when the bench runs with `--cpu-prof`.
 */
import { readFileSync } from 'node:fs'
import { relative } from 'node:path'
import { fileURLToPath } from 'node:url'

interface CallFrame { functionName: string, url: string, lineNumber: number }
interface ProfileNode { id: number, callFrame: CallFrame, children?: number[] }
interface Profile { nodes: ProfileNode[], samples: number[], timeDeltas: number[] }

export interface HotSpot {
  readonly name: string
  readonly where: string
  readonly selfMs: number
  /** Share of the non-idle samples, in percent. */
  readonly percent: number
}

export interface ProfileSummary {
  readonly file: string
  readonly busyMs: number
  /** Self time per function. */
  readonly functions: HotSpot[]
  /** Self time per source file. */
  readonly files: HotSpot[]
  /** Time with the function anywhere on the stack, for mixgate's own functions (dist/src). */
  readonly inclusive: HotSpot[]
}

const IDLE = new Set(['(idle)'])

function shortUrl (url: string, root: string): string {
  if (url === '') return ''
  if (url.startsWith('file://')) {
    const path = relative(root, fileURLToPath(url))
    return path.replace(/^dist\//, '')
  }
  return url.startsWith('node:') ? url : url.replace(/^wasm:\/\/wasm\/.*$/, 'wasm')
}

export function summarizeProfile (file: string, root: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const fnTime = new Map<string, { name: string, where: string, us: number }>()
  const fileTime = new Map<string, number>()
  const parentOf = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id)
  const inclusive = new Map<string, { name: string, where: string, us: number }>()
  let busyUs = 0
  // timeDeltas[i] is the time from sample i-1 to sample i; it is charged to sample i-1's node.
  for (let i = 0; i + 1 < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]!)
    const us = profile.timeDeltas[i + 1] ?? 0
    if (node === undefined || IDLE.has(node.callFrame.functionName)) continue
    busyUs += us
    const url = shortUrl(node.callFrame.url, root)
    const where = url === '' ? '' : `${url}:${node.callFrame.lineNumber + 1}`
    const name = node.callFrame.functionName || '(anonymous)'
    const key = `${name}@${where}`
    const entry = fnTime.get(key) ?? { name, where, us: 0 }
    entry.us += us
    fnTime.set(key, entry)
    const fileKey = url === '' ? name : url
    fileTime.set(fileKey, (fileTime.get(fileKey) ?? 0) + us)
    // Each of our functions on this sample's stack, once even if it recurses.
    const seen = new Set<string>()
    for (let id: number | undefined = node.id; id !== undefined; id = parentOf.get(id)) {
      const frame = byId.get(id)!.callFrame
      const frameUrl = shortUrl(frame.url, root)
      if (!frameUrl.startsWith('src/')) continue
      const frameWhere = `${frameUrl}:${frame.lineNumber + 1}`
      const frameName = frame.functionName || '(anonymous)'
      const frameKey = `${frameName}@${frameWhere}`
      if (seen.has(frameKey)) continue
      seen.add(frameKey)
      const entry = inclusive.get(frameKey) ?? { name: frameName, where: frameWhere, us: 0 }
      entry.us += us
      inclusive.set(frameKey, entry)
    }
  }
  const spot = (name: string, where: string, us: number): HotSpot => ({ name, where, selfMs: us / 1000, percent: (100 * us) / busyUs })
  return {
    file,
    busyMs: busyUs / 1000,
    functions: [...fnTime.values()].sort((a, b) => b.us - a.us).slice(0, top).map((e) => spot(e.name, e.where, e.us)),
    files: [...fileTime.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, us]) => spot(name, '', us)),
    inclusive: [...inclusive.values()].sort((a, b) => b.us - a.us).slice(0, 2 * top).map((e) => spot(e.name, e.where, e.us)),
  }
}
