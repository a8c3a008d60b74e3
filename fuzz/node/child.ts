/**
 * The node under fuzz, in a child process of its own (so that a crash is observed, not
 * suffered): a real one-mix cascade on loopback (mix, exit, client with its SOCKS port) and
 * an echo server the exit may reach — and nothing else: the exit policy accepts only the
 * echo port, so no fuzzed BEGIN ever leaves the machine.
 *
 * IPC with the harness: 'ready' (the cascade file JSON, the SOCKS and echo ports), 'memory'
 * answered with process.memoryUsage() and the nodes' counters, 'stop'. An uncaught exception
 * or rejection is sent as 'uncaught' (name, message, stack) and the process exits 70.
 */
import { createServer, type Socket } from 'node:net'
import { Writable } from 'node:stream'
import { cryptoReady } from '../../src/crypto/index.js'
import { cascadeToJson } from '../../src/directory/cascade-json.js'
import { createLogger } from '../../src/base/logger.js'
import { startCascade } from '../../test/helpers/cascade.js'

function die (kind: string, err: unknown): void {
  const e = err instanceof Error ? err : new Error(String(err))
  const report = { type: 'uncaught', kind, name: e.name, message: e.message, stack: e.stack ?? '', code: (e as { code?: unknown }).code }
  process.stderr.write(`FUZZ-CHILD ${kind}: ${e.stack ?? e.message}\n`)
  if (process.send !== undefined) process.send(report, () => process.exit(70))
  else process.exit(70)
  setTimeout(() => process.exit(70), 1000).unref()
}
process.on('uncaughtException', (err) => die('uncaughtException', err))
process.on('unhandledRejection', (err) => die('unhandledRejection', err))

await cryptoReady()
const cellSize = Number(process.argv[2] ?? 1024)

const sockets = new Set<Socket>()
const echo = createServer((socket) => {
  sockets.add(socket)
  socket.on('error', () => {})
  socket.on('close', () => sockets.delete(socket))
  socket.pipe(socket)
})
await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve))
const echoPort = (echo.address() as { port: number }).port

// Warnings and errors only, to stderr (the harness keeps the tail): a debug log kept in memory would grow without bound under fuzz.
const logger = createLogger({ role: 'fuzz', level: 'error', stream: new Writable({ write (chunk, _enc, done) { process.stderr.write(chunk); done() } }) })
const cascade = await startCascade({ mixes: 1, cellSize, logger, exitPolicy: [`accept 127.0.0.1:${echoPort}`, 'reject *:*'] })

process.on('message', (message: { type: string }) => {
  if (message.type === 'memory') {
    const mix = cascade.mixes[0]!.node.stats as unknown as Record<string, unknown>
    const exit = { ...(cascade.exit.node.stats as unknown as Record<string, unknown>), ...(cascade.exit.node.exitStats as unknown as Record<string, unknown>) }
    process.send!({ type: 'memory', memory: process.memoryUsage(), mix: numbers(mix), exit: numbers(exit) })
  } else if (message.type === 'stop') {
    void (async () => {
      await cascade.stop()
      for (const socket of sockets) socket.destroy()
      echo.close()
      process.exit(0)
    })()
  }
})

function numbers (stats: Record<string, unknown>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [k, v] of Object.entries(stats)) if (typeof v === 'number') out[k] = v
  return out
}

process.send!({ type: 'ready', cascade: cascadeToJson(cascade.cascade), socksPort: cascade.socksPort, echoPort })
