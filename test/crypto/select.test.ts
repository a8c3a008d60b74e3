/**
 * Backend selection at cryptoReady(): MIXGATE_CRYPTO unset takes sodium-native when it loads
 * and libsodium.js otherwise; `wasm` forces libsodium.js; `native` without sodium-native
 * fails loudly, in the selector and in the real CLI (a child process where `require` cannot
 * find the module).
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { chooseBackend, type NativeLoader } from '../../src/crypto/select.js'
import type { SodiumNative } from '../../src/crypto/native-backend.js'
import { nativeAvailable } from './backends.js'

const missing: NativeLoader = () => {
  throw Object.assign(new Error("Cannot find module 'sodium-native'\nRequire stack: ..."), { code: 'MODULE_NOT_FOUND' })
}
const real: NativeLoader = () => createRequire(import.meta.url)('sodium-native') as SodiumNative

t.test('without sodium-native: unset falls back, wasm is wasm, native fails with a clear error', async (t) => {
  t.equal((await chooseBackend(undefined, missing)).name, 'wasm')
  t.equal((await chooseBackend('', missing)).name, 'wasm')
  t.equal((await chooseBackend('wasm', missing)).name, 'wasm')
  await t.rejects(chooseBackend('native', missing), {
    code: 'CRYPTO_NATIVE_UNAVAILABLE',
    message: /^MIXGATE_CRYPTO=native but sodium-native cannot be loaded \(Cannot find module 'sodium-native'\); install it/,
  })
})

t.test('an unknown MIXGATE_CRYPTO value is refused, whatever is installed', async (t) => {
  await t.rejects(chooseBackend('Native', real), { code: 'CRYPTO_BAD_BACKEND', message: /must be "native" or "wasm".*got "Native"/ })
  await t.rejects(chooseBackend('auto', missing), { code: 'CRYPTO_BAD_BACKEND' })
})

t.test('with sodium-native: unset and native choose it, wasm does not even load it', { skip: nativeAvailable() ? false : 'sodium-native is not installed' }, async (t) => {
  t.equal((await chooseBackend(undefined, real)).name, 'native')
  t.equal((await chooseBackend('native', real)).name, 'native')
  let loaded = false
  t.equal((await chooseBackend('wasm', () => { loaded = true; return real() })).name, 'wasm')
  t.notOk(loaded, 'MIXGATE_CRYPTO=wasm never touches sodium-native')
})

// A preload that makes `require('sodium-native')` fail as if the package were not installed.
const HIDE = `const M = require('node:module'); const resolve = M._resolveFilename
M._resolveFilename = function (request, ...rest) {
  if (request === 'sodium-native') throw Object.assign(new Error("Cannot find module 'sodium-native'"), { code: 'MODULE_NOT_FOUND' })
  return resolve.call(this, request, ...rest)
}`

function mixgate (env: Record<string, string>, hide: string): { status: number | null, stderr: string, stdout: string } {
  const base = { ...process.env }
  delete base.MIXGATE_CRYPTO
  const r = spawnSync(process.execPath, ['--require', hide, join(process.cwd(), 'bin', 'mixgate'), 'keygen', '--help'], {
    env: { ...base, ...env }, encoding: 'utf8', timeout: 60_000,
  })
  return { status: r.status, stderr: r.stderr, stdout: r.stdout }
}

t.test('the CLI with sodium-native hidden: MIXGATE_CRYPTO=native stops at start-up; unset runs on wasm', async (t) => {
  const dir = t.testdir({ 'hide.cjs': HIDE })
  const hide = join(dir, 'hide.cjs')
  const forced = mixgate({ MIXGATE_CRYPTO: 'native' }, hide)
  t.equal(forced.status, 1)
  t.match(forced.stderr, /^mixgate: MIXGATE_CRYPTO=native but sodium-native cannot be loaded \(Cannot find module 'sodium-native'\)/)
  const env = { ...process.env }
  delete env.MIXGATE_CRYPTO
  const probe = spawnSync(process.execPath, ['--require', hide, '--input-type=module', '-e',
    `const c = await import(${JSON.stringify(join(process.cwd(), 'dist', 'src', 'crypto', 'index.js'))}); await c.cryptoReady(); process.stdout.write(c.cryptoBackend())`],
  { env, encoding: 'utf8', timeout: 60_000 })
  t.equal(probe.stdout, 'wasm', `falls back without a word: ${probe.stderr}`)
  const fallback = mixgate({}, hide)
  t.equal(fallback.status, 0, 'the CLI runs on the fallback')
})
