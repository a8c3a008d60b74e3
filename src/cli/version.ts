/**
 * The version `mixgate --version` prints: package.json's, read once at run time (this file
 * is compiled to dist/src/cli/, three levels below the package root).
 */
import { readFileSync } from 'node:fs'

export function packageVersion (): string {
  try {
    const text = readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')
    const version = (JSON.parse(text) as { version?: unknown }).version
    return typeof version === 'string' ? version : 'unknown'
  } catch {
    return 'unknown'
  }
}
