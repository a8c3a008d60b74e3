/**
 * `mixgate up` as a user runs it: a child process, a SOCKS5 port on a free port, curl
 * through it to a local server, Ctrl-C. And its cascade in this process: every hop in a
 * thread of its own, none left (thread or port) once stopped; a hop thread that dies is
 * noticed.
 */
import t from 'tap'
import { readdirSync, writeFileSync } from 'node:fs'
import { open, readFile } from 'node:fs/promises'
import { execFileSync } from 'node:child_process'
import { lookup } from 'node:dns/promises'
import { connect } from 'node:net'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { cryptoReady } from '../../src/crypto/index.js'
import { startEmbeddedCascade } from '../../src/node/start/embedded-cascade.js'
import { spawnHopThreads, type HopThread } from '../../src/node/threads/hop-thread.js'
import { formatHostPort, type HostPort } from '../../src/base/address.js'
import type { Logger, LogFields } from '../../src/base/logger.js'
import { DEFAULT_SHAPING } from '../../src/protocol/shaping.js'
import { curlThrough, runCli, startCli } from './spawn-cli.js'
import { startHttpServer } from './http-fixture.js'

await cryptoReady()

const READY = /^mixgate: SOCKS5 proxy listening on (127\.0\.0\.1:(\d+)) \((\d+) mix(?:es)? \+ exit\)\n/

t.test('up --socks 127.0.0.1:0 prints the real port, carries a page intact, and exits 0 on SIGINT', async (t) => {
  const http = await startHttpServer(t)
  const up = startCli(t, ['up', '--socks', '127.0.0.1:0', '--mixes', '2', '--exit-policy', 'accept 127.0.0.1:*', '--log-level', 'warn'])
  const ready = await up.waitForStdout(/try: .*\n/)
  const first = READY.exec(up.stdout())
  t.ok(first, 'the first line says where the SOCKS5 port is')
  const socks = first![1]!
  t.not(first![2], '0', 'the real port is printed, not 0')
  t.equal(first![3], '2', 'with the number of mixes')
  t.match(up.stdout().split('\n')[1], /^mixgate: admin http:\/\/127\.0\.0\.1:\d+ \(mixgate status\)$/, 'the second line is the client\'s admin URL')
  t.match(up.stdout().split('\n')[2], /^expect: a new connection answers in ≈ [\d.]+ s, a download ≈ [\d–]+ MB\/s once climbed; a stream ends with its circuit/, 'the third says what to expect of the default profile')
  t.equal(ready[0], `try: curl --socks5-hostname ${socks} https://example.org/\n`, 'the last line is an example curl line')
  t.equal(up.stdout().split('\n').length, 5, 'nothing else on standard output')

  const got = await curlThrough(socks, `http://localhost:${http.port}/body`)
  t.ok(got.equals(http.body), 'the body arrives intact')

  const exit = await up.stop('SIGINT')
  t.same(exit, { code: 0, signal: null }, 'SIGINT stops everything with status 0')
})

t.test('the default policy still refuses loopback without --exit-policy', async (t) => {
  const http = await startHttpServer(t, 10)
  const up = startCli(t, ['up', '--socks', '127.0.0.1:0', '--mixes', '1', '--log-level', 'warn'])
  await up.waitForStdout(/try: .*\n/)
  const socks = READY.exec(up.stdout())![1]!
  await t.rejects(curlThrough(socks, `http://127.0.0.1:${http.port}/body`), 'curl fails: the exit refuses 127.0.0.1')
  t.same(await up.stop('SIGTERM'), { code: 0, signal: null }, 'SIGTERM also exits 0')
})

t.test('a SOCKS port already in use: status 1, the address and the reason on standard error', async (t) => {
  const http = await startHttpServer(t, 10)
  const { code, stdout, stderr } = await runCli(['up', '--socks', `127.0.0.1:${http.port}`, '--mixes', '1', '--log-level', 'error'])
  t.equal(code, 1)
  t.equal(stdout, '', 'no ready line')
  t.equal(stderr, `mixgate: cannot listen for SOCKS connections on 127.0.0.1:${http.port}: the address is already in use (EADDRINUSE)\n`)
})

/** This process's threads (Linux). */
function threadCount (): number {
  return readdirSync('/proc/self/task').length
}

/** Listening servers on this thread's event loop. */
function serversHere (): number {
  return process.getActiveResourcesInfo().filter((name) => name === 'TCPServerWrap').length
}

/** Whether something accepts TCP connections at `where`. */
async function accepts (where: HostPort): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = connect(where.port, where.host)
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => resolve(false))
  })
}

/** Threads end a moment after their 'exit' event: wait (bounded) for the count to settle. */
async function threadsSettleAt (count: number): Promise<number> {
  for (let i = 0; i < 200 && threadCount() !== count; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  return threadCount()
}

t.test('with --hop-threads 3, the three hops run in threads of their own; stopping leaves no thread and no port behind', async (t) => {
  // libuv's thread pool starts on first use and stays: start it before counting.
  await readFile(new URL(import.meta.url))
  await lookup('localhost')
  const threadsBefore = threadCount()
  const serversBefore = serversHere()

  const embedded = await startEmbeddedCascade({
    mixes: 2,
    roundMs: 10,
    shaping: DEFAULT_SHAPING.off,
    socks: { host: '127.0.0.1', port: 0 },
    exitPolicy: [],
    dnsServers: ['127.0.0.1:53'],
    log: { level: 'error', format: 'text' },
    hopThreads: 3,
  })
  let stopped = false
  t.teardown(async () => {
    if (!stopped) for (const node of [...embedded.nodes].reverse()) await node.stop().catch(() => {})
  })
  const links = embedded.cascade.hops.map((hop) => hop.address)
  t.same(embedded.nodes.map((n) => n.role), ['exit', 'mix', 'mix', 'client'], 'exit, mixes from last to first, client')
  t.ok(threadCount() >= threadsBefore + 3, `a thread per hop (${threadsBefore} threads before, ${threadCount()} now)`)
  t.equal(serversHere(), serversBefore + 2, 'this thread listens only for SOCKS and the client\'s admin port: the hops\' servers are elsewhere')
  const admin = { host: '127.0.0.1', port: Number(new URL(embedded.clientAdminUrl).port) }
  t.ok(await accepts(admin), 'the client serves its admin port')
  for (const link of links) t.ok(await accepts(link), `a hop accepts links on ${formatHostPort(link)}`)
  t.ok(await accepts(embedded.socks), 'the client accepts SOCKS connections')

  t.same(embedded.runningThreads(), ['mix[1]', 'mix[2]', 'exit'], 'every hop thread runs')
  for (const node of [...embedded.nodes].reverse()) await node.stop()
  stopped = true
  await embedded.threadsEnded
  t.same(embedded.runningThreads(), [], 'none is left running once stopped')
  t.equal(await threadsSettleAt(threadsBefore), threadsBefore, 'every hop thread ended')
  t.equal(serversHere(), serversBefore, 'the SOCKS and admin servers closed')
  for (const where of [...links, embedded.socks, admin]) t.notOk(await accepts(where), `nothing listens on ${formatHostPort(where)} any more`)
})

t.test('a hop thread that dies unasked is logged, resolves crashed, and its stop throws the crash', async (t) => {
  await readFile(new URL(import.meta.url))
  const threadsBefore = threadCount()
  // A stand-in hop: booted, answers the first request, then an uncaught error.
  const entry = join(t.testdir({}), 'dying-hop.mjs')
  writeFileSync(entry, [
    "import { parentPort } from 'node:worker_threads'",
    'parentPort.postMessage({ id: 0, value: {} })',
    'parentPort.on(\'message\', ({ id }) => {',
    '  parentPort.postMessage({ id, value: { up: true } })',
    "  setTimeout(() => { throw new Error('boom') }, 20)",
    '})',
  ].join('\n'))
  const events: Array<[string, LogFields | undefined]> = []
  const [thread] = spawnHopThreads([{ label: 'mix[1]', logger: recordingLogger(events), role: 'mix' }], { entry: pathToFileURL(entry) }) as [HopThread]
  await thread.booted
  t.equal(await thread.successorWithin(1000), true, 'the answer it sent')
  const crash = await thread.crashed
  t.match(crash, { code: 'CLI_NODE_CRASHED', message: /^mix\[1\] ended unexpectedly \(its thread exited with code 1\)$/ })
  t.match((crash.cause as Error).message, 'boom', 'the uncaught error is the cause')
  t.same(events.map(([event]) => event), ['node.crashed'], 'the crash is logged')
  await t.rejects(thread.describe(), { code: 'CLI_NODE_CRASHED' }, 'requests after the crash fail')
  await t.rejects(thread.stop(), { code: 'CLI_NODE_CRASHED' }, 'stop throws the crash: up ends with status 1')
  t.equal(await threadsSettleAt(threadsBefore), threadsBefore, 'no thread left')
})

t.test('a hop thread blocked where terminate() cannot reach: stop() says so instead of waiting for it', async (t) => {
  const dir = t.testdir({})
  // A FIFO without a writer: opening it waits in the kernel, as a stuck native call would.
  const fifo = join(dir, 'no-writer')
  execFileSync('mkfifo', [fifo])
  const entry = join(dir, 'blocking-hop.mjs')
  writeFileSync(entry, [
    "import { parentPort } from 'node:worker_threads'",
    "import { openSync } from 'node:fs'",
    'parentPort.postMessage({ id: 0, value: {} })',
    'parentPort.on(\'message\', ({ id }) => {',
    '  parentPort.postMessage({ id, value: {} })',
    `  openSync(${JSON.stringify(fifo)}, 'r')`,
    '})',
  ].join('\n'))
  const events: Array<[string, LogFields | undefined]> = []
  const [thread] = spawnHopThreads([{ label: 'exit', logger: recordingLogger(events), role: 'exit' }], { entry: pathToFileURL(entry), graceMs: 200 }) as [HopThread]
  await thread.booted
  await t.rejects(thread.stop(), { code: 'CLI_THREAD_STUCK', message: 'exit\'s thread did not end when terminated' }, 'stop ends, and throws: up ends with status 1')
  t.same(events.map(([event]) => event), ['thread.terminated', 'thread.stuck'], 'terminated, then logged as stuck')
  t.ok(thread.isRunning, 'the thread still runs: the process must not wait for it (process.exit would)')
  // Give the open its writer: the thread leaves the kernel and the termination ends it.
  const writer = await open(fifo, 'w')
  await thread.ended
  await writer.close()
  t.notOk(thread.isRunning, 'ended once unblocked')
})

function recordingLogger (events: Array<[string, LogFields | undefined]>): Logger {
  const record = (event: string, fields?: LogFields): void => { events.push([event, fields]) }
  const logger: Logger = { error: record, warn: record, info: record, debug: () => {}, child: () => logger, isLevelEnabled: () => true }
  return logger
}
