/**
 * libsodium, loaded once.
 *
 * libsodium.js compiles its WebAssembly asynchronously. Every entry point of the program
 * (CLI, tests, benchmarks) awaits `cryptoReady()` once at start-up; after that every crypto
 * function is synchronous, which keeps the per-cell code free of promises.
 */
import sodiumModule from 'libsodium-wrappers-sumo'

let loaded: typeof sodiumModule | undefined

export async function cryptoReady (): Promise<void> {
  if (loaded !== undefined) return
  await sodiumModule.ready
  loaded = sodiumModule
}

/** The loaded libsodium; throws if `cryptoReady()` has not completed (a programming error). */
export function sodium (): typeof sodiumModule {
  if (loaded === undefined) throw new Error('crypto used before cryptoReady() resolved')
  return loaded
}
