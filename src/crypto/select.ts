/**
 * Which crypto backend runs, chosen once at `cryptoReady()`.
 *
 * sodium-native if it loads (an optional dependency: absent when its install failed or was
 * skipped), else libsodium.js. The environment variable MIXGATE_CRYPTO overrides: `wasm`
 * forces libsodium.js, `native` requires sodium-native and fails start-up loudly without it.
 * Every entry point (CLI, hop threads, tests, benchmarks) awaits `cryptoReady()` once; after
 * that every crypto function is synchronous.
 */
import { createRequire } from 'node:module'
import type { BackendName, CryptoBackend } from './backend.js'
import { CryptoError } from './errors.js'
import { createNativeBackend, type SodiumNative } from './native-backend.js'

export const CRYPTO_ENV = 'MIXGATE_CRYPTO'

/** Loads sodium-native; throws as `require` does when the module is missing or broken. */
export type NativeLoader = () => SodiumNative

const requireHere = createRequire(import.meta.url)
const loadSodiumNative: NativeLoader = () => requireHere('sodium-native') as SodiumNative

function notReady (): never {
  throw new Error('crypto used before cryptoReady() resolved')
}

/**
 * Stands in until a backend is chosen: every primitive throws, but for wiping, which needs no
 * library (a key read from a file before start-up finished must still be erased).
 */
const wipe = (bytes: Uint8Array): void => { bytes.fill(0) }
const NOT_READY = new Proxy({}, { get: (_target, name) => name === 'memzero' ? wipe : notReady }) as CryptoBackend

/** The backend in use; index.ts reads this live binding on every call. */
export let backend: CryptoBackend = NOT_READY
let choosing: Promise<void> | undefined

/** Choose the backend (once; later calls wait for the first). */
export async function cryptoReady (): Promise<void> {
  choosing ??= chooseBackend(process.env[CRYPTO_ENV], loadSodiumNative).then((chosen) => { backend = chosen })
  await choosing
}

/** The backend chosen by `cryptoReady()`: `'native'` (sodium-native) or `'wasm'` (libsodium.js). */
export function cryptoBackend (): BackendName {
  if (backend === NOT_READY) notReady()
  return backend.name
}

/**
 * The backend `setting` (MIXGATE_CRYPTO's value) asks for. Exported with an injectable
 * loader for tests; the program calls it only through `cryptoReady()`.
 */
export async function chooseBackend (setting: string | undefined, loadNative: NativeLoader): Promise<CryptoBackend> {
  switch (setting) {
    case undefined:
    case '':
      try {
        return createNativeBackend(loadNative())
      } catch {
        return await loadWasm()
      }
    case 'native':
      try {
        return createNativeBackend(loadNative())
      } catch (err) {
        const reason = err instanceof Error ? err.message.split('\n')[0] : String(err)
        throw new CryptoError('CRYPTO_NATIVE_UNAVAILABLE',
          `${CRYPTO_ENV}=native but sodium-native cannot be loaded (${reason}); install it (npm install sodium-native) or unset ${CRYPTO_ENV} to fall back to libsodium.js`,
          { cause: err })
      }
    case 'wasm':
      return await loadWasm()
    default:
      throw new CryptoError('CRYPTO_BAD_BACKEND', `${CRYPTO_ENV} must be "native" or "wasm" (or unset: native if available), got ${JSON.stringify(setting)}`)
  }
}

/**
 * Tests only: switch to backend `name` now, so that one process can run the same checks on
 * both. Never called by the program.
 */
export async function useCryptoBackend (name: BackendName): Promise<void> {
  const chosen = await chooseBackend(name, loadSodiumNative)
  backend = chosen
  choosing = Promise.resolve()
}

async function loadWasm (): Promise<CryptoBackend> {
  // Imported only when chosen: the native backend never compiles libsodium.js's WebAssembly.
  const { wasmBackend } = await import('./wasm-backend.js')
  return wasmBackend
}
