/**
 * The layering README "Architecture" promises, read from the sources (issue #11): no module of
 * src/ imports one that imports it back (type-only imports count too); src/protocol imports
 * nothing but src/crypto and itself (pure codecs, no I/O, no role); the mix and the exit
 * stand side by side (neither imports the other; both may use src/hop); src/base, under
 * everything, imports only src/protocol, src/crypto and src/errors.ts; no file of src/ is
 * over 420 lines.
 */
import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, normalize, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../../src/', import.meta.url))

function sources (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sources(path)
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : []
  })
}

const files = sources(ROOT)
const graph = new Map<string, string[]>()
for (const file of files) {
  const text = readFileSync(file, 'utf8')
  const deps = [...text.matchAll(/(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'/g)]
    .map((m) => normalize(join(dirname(file), m[1]!.replace(/\.js$/, '.ts'))))
    .filter((dep) => dep.startsWith(ROOT))
  graph.set(file, deps)
}
/** The top folder of a module under src/ (`protocol`, `hop` …). */
const part = (file: string): string => file.slice(ROOT.length).split(sep)[0]!
const rel = (file: string): string => file.slice(ROOT.length)

t.test('no import circle in src/', async (t) => {
  const circles: string[] = []
  const state = new Map<string, 'open' | 'done'>()
  const visit = (file: string, path: string[]): void => {
    if (state.get(file) === 'done') return
    if (state.get(file) === 'open') {
      circles.push([...path.slice(path.indexOf(file)), file].map(rel).join(' → '))
      return
    }
    state.set(file, 'open')
    for (const dep of graph.get(file) ?? []) visit(dep, [...path, file])
    state.set(file, 'done')
  }
  for (const file of files) visit(file, [])
  t.ok(files.length > 100, `${files.length} modules read`)
  t.same(circles, [], 'no circle')
})

t.test('dependencies point downward', async (t) => {
  const bad: string[] = []
  for (const [file, deps] of graph) {
    for (const dep of deps) {
      const from = part(file)
      const to = part(dep)
      if (from === 'protocol' && to !== 'protocol' && to !== 'crypto' && to !== 'errors.ts') bad.push(`${rel(file)} → ${rel(dep)}`)
      if ((from === 'mix' && to === 'exit') || (from === 'exit' && to === 'mix')) bad.push(`${rel(file)} → ${rel(dep)}`)
      if (from === 'hop' && (to === 'mix' || to === 'exit' || to === 'client' || to === 'cli')) bad.push(`${rel(file)} → ${rel(dep)}`)
      if (from === 'base' && !['base', 'protocol', 'crypto', 'errors.ts'].includes(to)) bad.push(`${rel(file)} → ${rel(dep)}`)
    }
  }
  t.same(bad, [], 'protocol imports no role; mix and exit do not import each other; hop imports no role; base imports only protocol, crypto and errors')
})

t.test('no file in src/ over 420 lines', async (t) => {
  const long = files.filter((file) => readFileSync(file, 'utf8').split('\n').length > 420).map(rel)
  t.same(long, [])
})
