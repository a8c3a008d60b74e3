/**
 * Whether this system has jemalloc where bin/mixgate's launcher looks for it (the
 * multiarch directories /usr/lib/<triplet>/, then /usr/lib64/ and /usr/lib/), so that the
 * launcher tests know which of its two behaviours to expect.
 */
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

const LIBRARY = 'libjemalloc.so.2'

export function jemallocInstalled (): boolean {
  const multiarch = readdirSync('/usr/lib', { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => join('/usr/lib', entry.name, LIBRARY))
  return [...multiarch, join('/usr/lib64', LIBRARY), join('/usr/lib', LIBRARY)].some(existsSync)
}
