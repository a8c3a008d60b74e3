/**
 * libsodium.js (WebAssembly), loaded once: the portable backend's library.
 *
 * libsodium.js compiles its WebAssembly asynchronously; this module awaits that at its top
 * level, so whoever imports it (the wasm backend, which `cryptoReady()` imports only when it
 * chooses it, and tests comparing against libsodium.js) finds it ready. On the native
 * backend nothing imports this file and the WebAssembly is never compiled.
 */
import sodiumModule from 'libsodium-wrappers-sumo'

await sodiumModule.ready

/** The loaded libsodium.js. */
export function sodium (): typeof sodiumModule {
  return sodiumModule
}
