/**
 * What `mixgate up` keeps out of memory (issue #17), seen in a real `up` process: on the
 * native crypto backend no thread compiles libsodium.js's WebAssembly, and a hop's thread
 * loads neither the metrics library (prom-client: it serves no admin port without a state
 * dir) nor the HTTP client (undici) nor the SOCKS code, nor the schema library (zod: the
 * parent builds and checks the descriptors, hop-thread-protocol.ts), nor winston (its lines
 * go to its standard error through src/base/stream-logger.ts). The main thread (the
 * client) does not load undici either: its cascade comes from the hops, not over HTTP.
 * test/architecture/hop-thread-imports.test.ts checks the same of the sources.
 *
 * A probe module given to node with --import runs in every thread (workers inherit the
 * flag): it counts WebAssembly compilations and, when its thread ends, writes them and the
 * packages in that thread's CommonJS cache to a file, and whether zod (an ES module, so not
 * in that cache) ran: it leaves its registry on globalThis. The same run with MIXGATE_CRYPTO=wasm
 * shows the probe sees the WebAssembly when it is there. The memory figures themselves are
 * in docs/BENCH.md, not asserted here (they depend on the machine and its load).
 */
import t from 'tap'
import type { Test } from 'tap'
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { chooseBackend } from '../../src/crypto/select.js'
import { createRequire } from 'node:module'
import { BIN, TEST_RUNTIME_DIR } from './spawn-cli.js'

interface ThreadReport {
  readonly main: boolean
  readonly compiled: number
  readonly packages: string[]
  readonly zod: boolean
}

const PROBE = `
import { isMainThread, threadId } from 'node:worker_threads'
import { createRequire } from 'node:module'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
let compiled = 0
for (const name of ['compile', 'instantiate', 'compileStreaming', 'instantiateStreaming']) {
  const original = WebAssembly[name]
  WebAssembly[name] = function (...args) { compiled++; return original.apply(this, args) }
}
WebAssembly.Module = new Proxy(WebAssembly.Module, { construct (target, args) { compiled++; return Reflect.construct(target, args) } })
process.on('exit', () => {
  const names = Object.keys(createRequire(import.meta.url).cache).map((path) => /node_modules[\\\\/]((?:@[^\\\\/]+[\\\\/])?[^\\\\/]+)/.exec(path)?.[1])
  const packages = [...new Set(names.filter((name) => name !== undefined))].sort()
  const zod = globalThis.__zod_globalRegistry !== undefined
  writeFileSync(join(process.env.PROBE_DIR, 'thread-' + threadId + '.json'), JSON.stringify({ main: isMainThread, compiled, packages, zod }))
})
`

const nativeLoads = await chooseBackend('native', () => createRequire(import.meta.url)('sodium-native')).then(() => true, () => false)

/** Run `up` with one mix (its two hops in `hopThreads` threads) under the probe, stop it once ready; each thread's report. */
async function upReports (t: Test, crypto: 'native' | 'wasm', hopThreads: 1 | 2): Promise<ThreadReport[]> {
  const dir = t.testdir({})
  const probe = join(dir, 'probe.mjs')
  writeFileSync(probe, PROBE)
  const child = spawn(process.execPath, ['--import', pathToFileURL(probe).href, BIN, 'up', '--socks', '127.0.0.1:0', '--mixes', '1', '--hop-threads', String(hopThreads), '--log-level', 'warn'], {
    env: { ...process.env, MIXGATE_RUNTIME_DIR: TEST_RUNTIME_DIR, MIXGATE_CRYPTO: crypto, PROBE_DIR: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited
    }
  })
  let out = ''
  let err = ''
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { err += chunk })
  await new Promise<void>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk
      if (out.includes('\ntry: ')) resolve()
    })
    void exited.then(() => reject(new Error(`up ended before it was ready: ${err}`)))
  })
  child.kill('SIGINT')
  t.equal(await exited, 0, `up (${crypto}) stopped with status 0`)
  return readdirSync(dir).filter((name) => name.startsWith('thread-')).map((name) => JSON.parse(readFileSync(join(dir, name), 'utf8')) as ThreadReport)
}

for (const hopThreads of [2, 1] as const) {
  const threads = hopThreads === 2 ? 'a thread per hop' : 'both hops in one thread'
  t.test(`native backend, ${threads}: no thread compiles WebAssembly; a hop thread loads no metrics, HTTP, SOCKS, schema or winston library`, { skip: nativeLoads ? false : 'sodium-native cannot be loaded here' }, async (t) => {
    const reports = await upReports(t, 'native', hopThreads)
    const hops = reports.filter((r) => !r.main)
    const main = reports.find((r) => r.main)
    t.equal(hops.length, hopThreads, `a report from each hop thread (${hopThreads})`)
    t.ok(main, 'and from the main thread')
    for (const [i, hop] of hops.entries()) {
      t.equal(hop.compiled, 0, `hop thread ${i}: no WebAssembly compiled`)
      t.ok(hop.packages.includes('sodium-native'), `hop thread ${i}: sodium-native in use`)
      t.same(hop.packages.filter((name) => ['prom-client', 'undici', 'socksv5', 'winston'].includes(name)), [], `hop thread ${i}: no prom-client, undici, socksv5 or winston`)
      t.equal(hop.zod, false, `hop thread ${i}: no zod`)
    }
    t.equal(main!.zod, true, 'the main thread loads zod (it checks the descriptors): the probe sees it where it is')
    t.equal(main!.compiled, 0, 'main thread: no WebAssembly compiled')
    t.notOk(main!.packages.includes('undici'), 'main thread: no undici')
    t.ok(main!.packages.includes('winston'), 'the main thread logs through winston: the probe sees it where it is')
  })
}

t.test('the probe sees the WebAssembly when libsodium.js is the backend', async (t) => {
  const reports = await upReports(t, 'wasm', 2)
  t.equal(reports.length, 3, 'a report from every thread')
  t.ok(reports.every((r) => r.compiled > 0), 'every thread compiled libsodium.js\'s WebAssembly')
})
