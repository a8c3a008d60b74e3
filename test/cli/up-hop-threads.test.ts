/**
 * `mixgate up --hop-threads N`: the hops share N worker threads (issue #17: an isolate costs
 * 13–18 MB; a 2-core machine cannot run four hop threads and the client at once anyway).
 * Shared, a thread keeps what a thread of one hop guarantees: it ends only once every hop in it
 * was stopped, its crash is each of its hops' crash (logged under each label, each hop's stop
 * throws it: `up` ends with status 1), one that cannot be ended is logged as stuck under each
 * label and the last stop throws, and `up` still carries a download and stops with status 0.
 */
import t from 'tap'
import { readdirSync, writeFileSync } from 'node:fs'
import { open, readFile } from 'node:fs/promises'
import { execFileSync } from 'node:child_process'
import { lookup } from 'node:dns/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { cryptoReady } from '../../src/crypto/index.js'
import { startEmbeddedCascade } from '../../src/node/start/embedded-cascade.js'
import { spawnHopThreads, type HopThread } from '../../src/node/threads/hop-thread.js'
import { defaultHopThreads, hopGroups } from '../../src/node/threads/hop-thread-plan.js'
import type { Logger, LogFields } from '../../src/base/logger.js'
import { DEFAULT_SHAPING } from '../../src/protocol/shaping.js'
import { curlThrough, runCli, startCli } from './spawn-cli.js'
import { startHttpServer } from './http-fixture.js'

await cryptoReady()

const READY = /^mixgate: SOCKS5 proxy listening on (127\.0\.0\.1:\d+) /

t.test('up --hop-threads 1 carries a download intact and exits 0 on SIGINT', async (t) => {
  const http = await startHttpServer(t, 4 * 1024 * 1024 + 5)
  const up = startCli(t, ['up', '--socks', '127.0.0.1:0', '--hop-threads', '1', '--shaping', 'off', '--exit-policy', 'accept 127.0.0.1:*', '--log-level', 'warn'])
  await up.waitForStdout(/try: .*\n/, 30_000)
  const socks = READY.exec(up.stdout())![1]!
  const got = await curlThrough(socks, `http://localhost:${http.port}/body`)
  t.ok(got.equals(http.body), '4 MiB arrive intact through three mixes and the exit in one thread')
  t.same(await up.stop('SIGINT'), { code: 0, signal: null }, 'SIGINT stops every hop and the thread: status 0')
  t.equal(up.stderr(), '', 'nothing logged at warn or above')
})

t.test('--hop-threads takes 1 to the number of hops', async (t) => {
  for (const [args, bound] of [[['--hop-threads', '0'], 4], [['--hop-threads', '5'], 4], [['--mixes', '1', '--hop-threads', '3'], 2]] as const) {
    const { code, stderr } = await runCli(['up', ...args])
    t.equal(code, 2, `${args.join(' ')}: a usage error`)
    t.match(stderr, `--hop-threads must be an integer between 1 and ${bound}`, 'naming the range')
  }
})

t.test('the hops are dealt to the threads in turn; by default shaped a thread per hop, off the cores but one', async (t) => {
  t.same(hopGroups(4, 1), [[1, 2, 3, 4]], 'one thread: every hop')
  t.same(hopGroups(4, 2), [[1, 3], [2, 4]], 'two: entry and third mix, second mix and exit')
  t.same(hopGroups(4, 3), [[1, 4], [2], [3]], 'three: no thread has two more than another')
  t.same(hopGroups(2, 8), [[1], [2]], 'never more threads than hops')
  t.equal(defaultHopThreads(4, 'elastic', 2), 4, 'shaped, four hops on 2 cores: four threads')
  t.equal(defaultHopThreads(2, 'strict', 2), 2, 'shaped, two hops: two')
  t.equal(defaultHopThreads(4, 'off', 2), 1, 'off, four hops on 2 cores: one thread (the client has the other core)')
  t.equal(defaultHopThreads(4, 'off', 1), 1, 'off, one core: still one thread')
  t.equal(defaultHopThreads(4, 'off', 3), 2, 'off, 3 cores: two')
  t.equal(defaultHopThreads(4, 'off', 16), 4, 'off, many cores: a thread per hop')
  t.equal(defaultHopThreads(2, 'off', 16), 2, 'off, two hops: two at most')
})

/** This process's threads (Linux). */
function threadCount (): number {
  return readdirSync('/proc/self/task').length
}

/** Threads end a moment after their 'exit' event: wait (bounded) for the count to settle. */
async function threadsSettleAt (count: number): Promise<number> {
  for (let i = 0; i < 200 && threadCount() !== count; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  return threadCount()
}

t.test('hopThreads 1: one thread runs every hop, and ends once the last of them stopped', async (t) => {
  // libuv's thread pool starts on first use and stays: start it before counting.
  await readFile(new URL(import.meta.url))
  await lookup('localhost')
  const threadsBefore = threadCount()
  const embedded = await startEmbeddedCascade({
    mixes: 2,
    roundMs: 10,
    shaping: DEFAULT_SHAPING.off,
    socks: { host: '127.0.0.1', port: 0 },
    exitPolicy: [],
    dnsServers: ['127.0.0.1:53'],
    log: { level: 'error', format: 'text' },
    hopThreads: 1,
  })
  let stopped = 0
  t.teardown(async () => {
    for (const node of [...embedded.nodes].reverse().slice(stopped)) await node.stop().catch(() => {})
  })
  t.equal(embedded.hopThreads, 1, 'one hop thread')
  // Not exactly one more: the client in this thread may start one of its own.
  t.ok(threadCount() < threadsBefore + 3, `fewer new threads than hops (${threadsBefore} threads before, ${threadCount()} now; a thread each would be 3 more)`)
  t.same(embedded.runningThreads(), ['mix[1]', 'mix[2]', 'exit'], 'each hop listed under its label')
  // Stopped as a signal stops them: the client, then the hops from the entry on.
  const order = [...embedded.nodes].reverse()
  for (const node of order.slice(0, -1)) {
    await node.stop()
    stopped++
  }
  t.same(embedded.runningThreads(), ['mix[1]', 'mix[2]', 'exit'], 'the thread runs while a hop in it runs')
  await order.at(-1)!.stop()
  stopped++
  await embedded.threadsEnded
  t.same(embedded.runningThreads(), [], 'the last stop ended it')
  t.equal(await threadsSettleAt(threadsBefore), threadsBefore, 'no thread left')
})

t.test('a shared thread ends only after the stop of each of its hops', async (t) => {
  const events: Array<[string, LogFields | undefined]> = []
  const logger = recordingLogger(events)
  // The real thread, two hops that were never prepared: each stop only ends its slot.
  const [first, second] = spawnHopThreads([{ label: 'mix[1]', logger, role: 'mix' }, { label: 'mix[2]', logger, role: 'mix' }]) as [HopThread, HopThread]
  await first.booted
  await first.stop()
  t.ok(second.isRunning, 'after one hop\'s stop the thread still runs')
  await second.stop()
  t.notOk(first.isRunning, 'after the other\'s it has ended')
  t.same(events, [], 'no event: an expected end')
})

t.test('a shared thread that dies unasked is a crash of each of its hops', async (t) => {
  // A stand-in thread: booted, answers the first request, then an uncaught error.
  const entry = join(t.testdir({}), 'dying-hops.mjs')
  writeFileSync(entry, [
    "import { parentPort } from 'node:worker_threads'",
    'parentPort.postMessage({ id: 0, value: {} })',
    'parentPort.on(\'message\', ({ id }) => {',
    '  parentPort.postMessage({ id, value: { up: true } })',
    "  setTimeout(() => { throw new Error('boom') }, 20)",
    '})',
  ].join('\n'))
  const mixEvents: Array<[string, LogFields | undefined]> = []
  const exitEvents: Array<[string, LogFields | undefined]> = []
  const [mix, exit] = spawnHopThreads([
    { label: 'mix[1]', logger: recordingLogger(mixEvents), role: 'mix' },
    { label: 'exit', logger: recordingLogger(exitEvents), role: 'exit' },
  ], { entry: pathToFileURL(entry) }) as [HopThread, HopThread]
  await mix.booted
  t.equal(await mix.successorWithin(1000), true, 'the answer it sent')
  const [mixCrash, exitCrash] = await Promise.all([mix.crashed, exit.crashed])
  t.match(mixCrash, { code: 'CLI_NODE_CRASHED', message: 'mix[1] ended unexpectedly (its thread, shared with exit, exited with code 1)' })
  t.match(exitCrash, { code: 'CLI_NODE_CRASHED', message: 'exit ended unexpectedly (its thread, shared with mix[1], exited with code 1)' })
  t.match((exitCrash.cause as Error).message, 'boom', 'the uncaught error is the cause')
  t.same(mixEvents.map(([event]) => event), ['node.crashed'], 'logged under the mix\'s label')
  t.same(exitEvents.map(([event]) => event), ['node.crashed'], 'and under the exit\'s')
  await t.rejects(exit.describe(), { code: 'CLI_NODE_CRASHED' }, 'requests after the crash fail')
  await t.rejects(mix.stop(), { code: 'CLI_NODE_CRASHED' }, 'each stop throws the crash: up ends with status 1')
  await t.rejects(exit.stop(), { code: 'CLI_NODE_CRASHED' })
})

t.test('a shared thread blocked where terminate() cannot reach: the last stop says so, under each hop\'s label', async (t) => {
  const dir = t.testdir({})
  // A FIFO without a writer: opening it waits in the kernel, as a stuck native call would.
  const fifo = join(dir, 'no-writer')
  execFileSync('mkfifo', [fifo])
  const entry = join(dir, 'blocking-hops.mjs')
  writeFileSync(entry, [
    "import { parentPort } from 'node:worker_threads'",
    "import { openSync } from 'node:fs'",
    'let stops = 0',
    'parentPort.postMessage({ id: 0, value: {} })',
    'parentPort.on(\'message\', ({ id }) => {',
    '  parentPort.postMessage({ id, value: {} })',
    `  if (++stops === 2) openSync(${JSON.stringify(fifo)}, 'r')`,
    '})',
  ].join('\n'))
  const mixEvents: Array<[string, LogFields | undefined]> = []
  const exitEvents: Array<[string, LogFields | undefined]> = []
  const [mix, exit] = spawnHopThreads([
    { label: 'mix[1]', logger: recordingLogger(mixEvents), role: 'mix' },
    { label: 'exit', logger: recordingLogger(exitEvents), role: 'exit' },
  ], { entry: pathToFileURL(entry), graceMs: 200 }) as [HopThread, HopThread]
  await mix.booted
  await mix.stop()
  t.same(mixEvents, [], 'the first stop ends its hop only')
  await t.rejects(exit.stop(), { code: 'CLI_THREAD_STUCK', message: 'mix[1] and exit\'s thread did not end when terminated' }, 'the last stop throws: up ends with status 1')
  t.same(mixEvents.map(([event]) => event), ['thread.terminated', 'thread.stuck'], 'logged under the mix\'s label')
  t.same(exitEvents.map(([event, fields]) => [event, fields?.sharedWith]), [['thread.terminated', ['mix[1]']], ['thread.stuck', ['mix[1]']]], 'and under the exit\'s, naming the hop it shares with')
  t.ok(exit.isRunning && mix.isRunning, 'the thread still runs: the hard exit lists both hops')
  // Give the open its writer: the thread leaves the kernel and the termination ends it.
  const writer = await open(fifo, 'w')
  await exit.ended
  await writer.close()
  t.notOk(mix.isRunning, 'ended once unblocked')
})

function recordingLogger (events: Array<[string, LogFields | undefined]>): Logger {
  const record = (event: string, fields?: LogFields): void => { events.push([event, fields]) }
  const logger: Logger = { error: record, warn: record, info: record, debug: () => {}, child: () => logger, isLevelEnabled: () => true }
  return logger
}
