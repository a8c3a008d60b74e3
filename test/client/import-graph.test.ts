/**
 * No module of src/client imports one that imports it back (issue #11 item 2): the client
 * and its schedule meet at the CircuitSender interface (circuit-sender.ts), not in a circle.
 * Type-only imports count too. Also: no file of src/client over 420 lines.
 */
import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, normalize } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../../src/client/', import.meta.url))

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

t.test('no import circle in src/client', async (t) => {
  const circles: string[] = []
  const state = new Map<string, 'open' | 'done'>()
  const visit = (file: string, path: string[]): void => {
    if (state.get(file) === 'done') return
    if (state.get(file) === 'open') {
      circles.push([...path.slice(path.indexOf(file)), file].map((f) => f.slice(ROOT.length)).join(' → '))
      return
    }
    state.set(file, 'open')
    for (const dep of graph.get(file) ?? []) visit(dep, [...path, file])
    state.set(file, 'done')
  }
  for (const file of files) visit(file, [])
  t.ok(files.length > 10, `${files.length} modules read`)
  t.same(circles, [], 'no circle')
})

t.test('no file in src/client over 420 lines', async (t) => {
  const long = files.filter((file) => readFileSync(file, 'utf8').split('\n').length > 420).map((f) => f.slice(ROOT.length))
  t.same(long, [])
})
