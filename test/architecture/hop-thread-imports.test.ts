/**
 * What a hop's thread under `mixgate up` loads as it boots, read from the sources (issue #17):
 * the static imports of its entry (src/node/threads/hop-thread-main.ts) and of the role code it
 * loads then (run-mix.ts or run-exit.ts) reach no npm package: not even winston, the main
 * thread's logger (about 2 MB of heap a thread; a hop thread writes the same lines through
 * src/base/stream-logger.ts). Every thread pays for what it loads, in heap; the schema library (zod, about 5 MB a thread), the metrics library,
 * the HTTP client and the SOCKS code belong to the parent or are imported on demand, by
 * `import()`, on paths a default hop never takes (a key dir, an admin port). The crypto
 * backend is chosen at run time (src/crypto/select.ts) and not counted here;
 * test/cli/up-idle-memory.test.ts checks a running `up`.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { dirname, join, normalize, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../../src/', import.meta.url))
const ENTRIES = ['node/threads/hop-thread-main.ts', 'mix/run-mix.ts', 'exit/run-exit.ts']

/** Value imports and re-exports (not `import type`/`export type`), side-effect imports too. */
const IMPORT = /(?:^|\n)\s*(?:import|export)\s+(?!type\s)(?:[^'"]*?\sfrom\s+)?'([^']+)'/g

/** Every module reached from `entries` by static value imports, and the packages named on the way (with an importer each). */
function closure (entries: readonly string[]): { modules: Set<string>, packages: Map<string, string> } {
  const modules = new Set<string>()
  const packages = new Map<string, string>()
  const visit = (file: string): void => {
    if (modules.has(file)) return
    modules.add(file)
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      if (spec!.startsWith('.')) visit(normalize(join(dirname(file), spec!.replace(/\.js$/, '.ts'))))
      else if (!spec!.startsWith('node:') && !packages.has(spec!)) packages.set(spec!, relative(ROOT, file))
    }
  }
  for (const entry of entries) visit(join(ROOT, entry))
  return { modules, packages }
}

t.test('a hop thread\'s boot imports reach no npm package', async (t) => {
  const { modules, packages } = closure(ENTRIES)
  t.ok(modules.size > 50, `${modules.size} modules read`)
  t.same([...packages].map(([name, from]) => `${name} (imported by ${from})`), [], 'no package: winston, zod, prom-client, undici, socksv5 stay out')
})

t.test('the reading sees packages where they are imported', async (t) => {
  const { packages } = closure(['base/schema.ts', 'node/admin/node-admin.ts'])
  t.ok(packages.has('zod'), 'zod, through the schema builders')
  t.ok(packages.has('prom-client'), 'prom-client, through the admin server\'s metrics')
  t.equal(closure(['base/logger.ts']).packages.get('winston'), 'base/logger.ts', 'winston, through the main thread\'s logger')
})
