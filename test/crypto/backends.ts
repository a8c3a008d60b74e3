/**
 * The backends a crypto test can run on here: libsodium.js always, sodium-native when it is
 * installed (an optional dependency). A missing sodium-native is reported as a skip, never
 * passed over silently.
 */
import { createRequire } from 'node:module'
import type { Test } from 'tap'
import type { BackendName } from '../../src/crypto/index.js'

export function nativeAvailable (): boolean {
  try {
    createRequire(import.meta.url)('sodium-native')
    return true
  } catch {
    return false
  }
}

export async function backendsToTest (t: Test): Promise<BackendName[]> {
  if (nativeAvailable()) return ['native', 'wasm']
  t.test('native backend', { skip: 'sodium-native is not installed' }, async () => {})
  return ['wasm']
}
