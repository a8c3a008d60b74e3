/**
 * The hard exit (src/node/hard-exit.ts) in child processes, since it ends its process: a
 * thread blocked where terminate() cannot reach, a main thread that never yields again, a
 * process kept alive by a handle, and one that ends by itself. Each fixture arms it with a
 * short deadline; the tests assert how each process ended and what it logged, not when.
 *
 * The blocked thread opens a FIFO that has no writer: open(2) waits in the kernel, where no
 * termination reaches it, as a thread in a stuck native call would (and the process it
 * blocks leaves no other process behind when killed).
 */
import t from 'tap'
import type { Test } from 'tap'
import { spawn, execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'

const HARD_EXIT = new URL('../../src/node/hard-exit.js', import.meta.url).href
const LOGGER = new URL('../../src/base/logger.js', import.meta.url).href

interface Ended {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stderr: string
}

/** Run `body` (an ES module's text after the import of armHardExit) in a child node in `dir`; how it ended. */
async function runFixture (t: Test, body: string, dir = t.testdir({})): Promise<Ended> {
  const script = join(dir, 'fixture.mjs')
  writeFileSync(script, [
    `import { armHardExit } from ${JSON.stringify(HARD_EXIT)}`,
    `import { createLogger } from ${JSON.stringify(LOGGER)}`,
    "const logger = createLogger({ role: 'fixture', level: 'info' })",
    "const log = { role: 'fixture', format: 'text' }",
    body,
  ].join('\n'))
  // Without the test runner's NODE_OPTIONS: its module hooks are not what is tested.
  const { NODE_OPTIONS: _, ...env } = process.env
  const child = spawn(process.execPath, [script], { cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  return await new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal, stderr })))
}

t.test('a thread blocked in the kernel: the process kills itself at the deadline, naming the thread', async (t) => {
  const dir = t.testdir({})
  const fifo = join(dir, 'no-writer')
  execFileSync('mkfifo', [fifo])
  const ended = await runFixture(t, `
import { Worker } from 'node:worker_threads'
const blocked = new Worker(${JSON.stringify(`require('node:fs').openSync(${JSON.stringify(fifo)}, 'r')`)}, { eval: true })
// Alive, so process.exit would wait for it (terminate() cannot end it either, once it is in open(2)).
armHardExit({ logger, log, afterMs: 200, running: () => ['blocked'], watchdogMs: false })
`, dir)
  t.equal(ended.signal, 'SIGKILL', `the process killed itself: process.exit would have waited for the thread (status ${ended.code})`)
  t.match(ended.stderr, /error fixture shutdown\.hard_exit reason=deadline afterMs=\d+ running=\["blocked"\] how=kill\n/, 'logged first, with the thread still running')
})

t.test('a main thread that never yields: the watchdog thread logs and kills the process', async (t) => {
  const ended = await runFixture(t, `
armHardExit({ logger, log, afterMs: 100, watchdogMs: 300 })
for (;;) {}
`)
  t.equal(ended.signal, 'SIGKILL')
  t.match(ended.stderr, /error fixture shutdown\.hard_exit reason="the main thread did not end the process" afterMs=300 how=kill\n/, 'the watchdog\'s line, in the process\'s format')
})

t.test('no thread left but a handle keeps the process alive: it exits with status 1 at the deadline', async (t) => {
  const ended = await runFixture(t, `
armHardExit({ logger, log, afterMs: 100, running: () => [] })
setInterval(() => {}, 1000)
`)
  t.same([ended.code, ended.signal], [1, null], 'process.exit(1): nothing to wait for')
  t.match(ended.stderr, /shutdown\.hard_exit reason=deadline afterMs=\d+ running=\[\] how=exit\n/)
})

t.test('a process that ends by itself: the armed guards neither hold it nor change its status', async (t) => {
  const ended = await runFixture(t, `
armHardExit({ logger, log, afterMs: 60_000, watchdogMs: 60_000 })
setTimeout(() => { process.exitCode = 0 }, 50)
`)
  t.same([ended.code, ended.signal], [0, null])
  t.equal(ended.stderr, '', 'nothing logged')
})
