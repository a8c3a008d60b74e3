// The package is Architecture: all, so it must hold no machine code: fails (exit 1, naming
// the files) if any file under DIR is an ELF object or a Node addon (*.node).
// Usage: node check-arch-independent.mjs DIR
import { openSync, readSync, closeSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

const [root] = process.argv.slice(2)
if (root === undefined) throw new Error('usage: check-arch-independent.mjs DIR')
const ELF = Buffer.from([0x7f, 0x45, 0x4c, 0x46])

function isElf (path) {
  const head = Buffer.alloc(4)
  const fd = openSync(path, 'r')
  try { return readSync(fd, head, 0, 4, 0) === 4 && head.equals(ELF) } finally { closeSync(fd) }
}

function* files (dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) yield* files(path)
    else if (entry.isFile()) yield path
  }
}

const binaries = [...files(root)].filter((path) => path.endsWith('.node') || isElf(path))
if (binaries.length > 0) {
  console.error(`machine code in an Architecture: all package:\n  ${binaries.join('\n  ')}`)
  process.exit(1)
}
