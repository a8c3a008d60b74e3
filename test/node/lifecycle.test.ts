/**
 * Shutdown on signals: stop functions in reverse order, exit 0; failures, a second signal
 * or the grace timeout give exit 1. Signals come from a fake emitter and `exit` is
 * injected, so the test process is never touched.
 */
import t from 'tap'
import { EventEmitter } from 'node:events'
import { Writable } from 'node:stream'
import { createLifecycle, installSignalHandlers, onShutdown, type SignalHandlerOptions } from '../../src/node/lifecycle.js'
import { createLogger } from '../../src/base/logger.js'

/** A fake process: signals to emit, the exit code once exit is called, the events logged. */
function harness (t: { teardown (fn: () => void): void }, options: Partial<SignalHandlerOptions> = {}) {
  const lifecycle = createLifecycle()
  const signals = new EventEmitter()
  const events: string[] = []
  const stream = new Writable({
    write (chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line !== '') events.push(JSON.parse(line).event)
      done()
    },
  })
  const logger = createLogger({ role: 'test', format: 'json', stream })
  const exits: number[] = []
  let exited: (code: number) => void
  const exitCode = new Promise<number>((resolve) => { exited = resolve })
  const handlers = lifecycle.installSignalHandlers({
    logger,
    signals,
    exit: (code) => { exits.push(code); exited(code) },
    ...options,
  })
  t.teardown(() => handlers.uninstall())
  return { lifecycle, signals, events, exits, exitCode, handlers }
}

t.test('SIGTERM runs the stop functions newest first, each awaited, then exits 0', async (t) => {
  const h = harness(t)
  const order: string[] = []
  h.lifecycle.onShutdown(() => { order.push('links') })
  h.lifecycle.onShutdown(async () => {
    await new Promise((resolve) => setImmediate(resolve))
    order.push('rounds')
  })
  h.lifecycle.onShutdown(() => { order.push('listener') })
  h.signals.emit('SIGTERM')
  t.equal(await h.exitCode, 0)
  t.same(order, ['listener', 'rounds', 'links'])
  t.same(h.exits, [0], 'exit called once')
  t.same(h.events, ['shutdown.started', 'shutdown.finished'])
})

t.test('SIGINT does the same; an unregistered function is not run', async (t) => {
  const h = harness(t)
  const order: string[] = []
  h.lifecycle.onShutdown(() => { order.push('a') })
  const remove = h.lifecycle.onShutdown(() => { order.push('b') })
  h.lifecycle.onShutdown(() => { order.push('a') }) // the same work twice is run twice
  remove()
  remove()
  h.signals.emit('SIGINT')
  t.equal(await h.exitCode, 0)
  t.same(order, ['a', 'a'])
})

t.test('a failing stop function is logged, the others still run, and the exit code is 1', async (t) => {
  const h = harness(t)
  const order: string[] = []
  h.lifecycle.onShutdown(() => { order.push('first') })
  h.lifecycle.onShutdown(() => { throw new Error('boom') })
  h.lifecycle.onShutdown(() => { order.push('last') })
  h.signals.emit('SIGTERM')
  t.equal(await h.exitCode, 1)
  t.same(order, ['last', 'first'])
  t.same(h.events, ['shutdown.started', 'shutdown.step_failed', 'shutdown.finished'])
})

t.test('a second signal during shutdown forces exit 1 at once', async (t) => {
  const h = harness(t)
  let release!: () => void
  const stuck = new Promise<void>((resolve) => { release = resolve })
  let laterRan = false
  h.lifecycle.onShutdown(() => { laterRan = true })
  h.lifecycle.onShutdown(() => stuck)
  h.signals.emit('SIGTERM')
  h.signals.emit('SIGINT')
  t.equal(await h.exitCode, 1)
  release()
  await new Promise((resolve) => setImmediate(resolve))
  t.same(h.exits, [1], 'exit is not called again when the stuck function finishes')
  t.equal(laterRan, false, 'nothing more runs after the forced exit')
  t.same(h.events, ['shutdown.started', 'shutdown.forced'])
})

t.test('onStopping runs once as the shutdown starts, before any stop', async (t) => {
  const calls: string[] = []
  const h = harness(t, { onStopping: () => { calls.push('stopping') } })
  h.lifecycle.onShutdown(() => { calls.push('stop') })
  h.signals.emit('SIGTERM')
  h.signals.emit('SIGTERM')
  t.equal(await h.exitCode, 1)
  await new Promise((resolve) => setImmediate(resolve))
  t.same(calls, ['stopping', 'stop'], 'once, though signalled twice, and before the stop')
})

t.test('stop functions outlasting the grace period force exit 1', async (t) => {
  const h = harness(t, { graceMs: 20 })
  h.lifecycle.onShutdown(() => new Promise<void>(() => {})) // never finishes
  h.signals.emit('SIGTERM')
  t.equal(await h.exitCode, 1)
  t.same(h.events, ['shutdown.started', 'shutdown.timeout'])
})

t.test('shutdown() starts the same sequence without a signal, once', async (t) => {
  const h = harness(t)
  let runs = 0
  h.lifecycle.onShutdown(() => { runs++ })
  await Promise.all([h.handlers.shutdown('component failed'), h.handlers.shutdown('again')])
  t.equal(await h.exitCode, 0)
  t.equal(runs, 1)
})

t.test('SIGHUP calls onReload, one reload at a time; without onReload SIGHUP is left alone', async (t) => {
  let reloads = 0
  let finish!: () => void
  const h = harness(t, { onReload: () => new Promise<void>((resolve) => { reloads++; finish = resolve }) })
  h.signals.emit('SIGHUP')
  await new Promise((resolve) => setImmediate(resolve))
  h.signals.emit('SIGHUP')
  finish()
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(reloads, 1)
  t.same(h.events, ['reload.started', 'reload.busy', 'reload.finished'])
  t.same(h.exits, [], 'a reload does not exit')

  const plain = harness(t)
  t.equal(plain.signals.listenerCount('SIGHUP'), 0)
  t.equal(plain.signals.listenerCount('SIGTERM'), 1)
  plain.handlers.uninstall()
  t.equal(plain.signals.listenerCount('SIGTERM'), 0, 'uninstall removes the listeners')
})

t.test('a failing reload is logged and does not stop the node', async (t) => {
  const h = harness(t, { onReload: () => { throw new Error('bad config') } })
  h.signals.emit('SIGHUP')
  await new Promise((resolve) => setImmediate(resolve))
  t.same(h.events, ['reload.started', 'reload.failed'])
  t.same(h.exits, [])
})

t.test('the process-wide onShutdown/installSignalHandlers work the same way', async (t) => {
  const signals = new EventEmitter()
  const order: number[] = []
  onShutdown(() => { order.push(1) })
  onShutdown(() => { order.push(2) })
  const code = new Promise<number>((resolve) => {
    const handlers = installSignalHandlers({ logger: createLogger({ role: 'test', stream: new Writable({ write: (_c, _e, done) => done() }) }), signals, exit: resolve })
    t.teardown(() => handlers.uninstall())
  })
  signals.emit('SIGTERM')
  t.equal(await code, 0)
  t.same(order, [2, 1])
})
