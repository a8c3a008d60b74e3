// Prints the copyright file's paragraphs for the npm packages bundled under
// /usr/lib/mixgate/node_modules (one per package, nested ones included), from each package's
// own package.json: its license as declared, and where its license text is shipped.
// Usage: node bundled-licenses.mjs STAGED_NODE_MODULES  (the staging dir's node_modules)
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'

const [root] = process.argv.slice(2)
if (root === undefined) throw new Error('usage: bundled-licenses.mjs NODE_MODULES_DIR')
// Paths in the copyright file are relative to the installed system's root.
const INSTALLED = 'usr/lib/mixgate/node_modules'

/** Every package directory below `dir` (a node_modules), scoped and nested ones included. */
function packages (dir) {
  const found = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue
    const path = join(dir, entry.name)
    if (entry.name.startsWith('@')) { found.push(...packages(path)); continue }
    found.push(path)
    const nested = join(path, 'node_modules')
    try { found.push(...packages(nested)) } catch {}
  }
  return found
}

function licenseOf (meta) {
  if (typeof meta.license === 'string') return meta.license
  if (meta.license?.type) return meta.license.type
  return 'unknown (no license in its package.json)'
}

function authorOf (meta) {
  const author = typeof meta.author === 'string' ? meta.author : meta.author?.name
  return author ? ` (${author.replace(/\s*<[^>]*>/, '')})` : ''
}

for (const dir of packages(root).sort()) {
  const meta = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
  const where = `${INSTALLED}/${relative(root, dir)}`
  const texts = readdirSync(dir).filter((name) => /^(licen[cs]e|copying)/i.test(name))
  console.log('')
  console.log(`Files: ${where}/*`)
  console.log(`Copyright: the authors of ${meta.name} ${meta.version}${authorOf(meta)}`)
  console.log(`License: ${licenseOf(meta)}`)
  console.log(texts.length > 0 ? ` The full text is in /${where}/${texts[0]}.` : ' The package ships no separate license text; see its package.json.')
}
