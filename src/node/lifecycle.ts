/**
 * Orderly shutdown on SIGINT/SIGTERM, shared by every role.
 *
 * Components register a stop function as they start (`onShutdown(() => server.close())`).
 * On the first SIGINT or SIGTERM the stop functions run one at a time in reverse order of
 * registration, so what started last (the listeners that accept new work) stops first and
 * what everything depends on (links, the key store) stops last; then the process exits 0.
 * A stop function that throws is logged and the rest still run; the exit status is then 1.
 * A second signal, or stop functions outlasting the grace period, force exit status 1
 * at once: an operator pressing Ctrl-C twice means it. `exit` may only resolve a command's
 * status (serve.ts); what ends the process whatever its threads do is hard-exit.ts, which
 * serve.ts arms through `onStopping`.
 *
 * SIGHUP is left alone (its default ends the process) unless an `onReload` callback is
 * given; reloading what can be reloaded is for later.
 *
 * Tests inject `exit` and a fake signal source, so nothing here kills the test process.
 */
import type { Logger } from '../base/logger.js'

export type StopFunction = () => Promise<void> | void

/** What signals are received from: `process`, or an EventEmitter in tests. */
export interface SignalSource {
  on (signal: NodeJS.Signals, listener: () => void): unknown
  off (signal: NodeJS.Signals, listener: () => void): unknown
}

export interface SignalHandlerOptions {
  readonly logger: Logger
  /** How to end the process (default `process.exit`). Called at most once. */
  readonly exit?: (code: number) => void
  /** How long stop functions may take in all before exit is forced (default 5000 ms). */
  readonly graceMs?: number
  readonly signals?: SignalSource
  /** Called on SIGHUP; without it SIGHUP keeps its default meaning. */
  readonly onReload?: () => Promise<void> | void
  /** Called once as the shutdown starts, before any stop function (serve.ts arms its hard exit). */
  readonly onStopping?: () => void
}

export interface SignalHandlers {
  /** Start the shutdown a signal would (e.g. when a vital component fails). */
  shutdown (reason: string): Promise<void>
  /** Remove the listeners and cancel a pending grace timer (for tests; a node keeps them). */
  uninstall (): void
}

export const DEFAULT_GRACE_MS = 5000

/** A registry of stop functions and the signal handling that runs them. */
export class Lifecycle {
  // Entries are objects so that the same function may be registered twice and each
  // registration removed on its own.
  private readonly stops: Array<{ readonly fn: StopFunction }> = []

  /** Register `fn` to run at shutdown; returns a function that unregisters it. */
  onShutdown (fn: StopFunction): () => void {
    const entry = { fn }
    this.stops.push(entry)
    return () => {
      const i = this.stops.indexOf(entry)
      if (i >= 0) this.stops.splice(i, 1)
    }
  }

  /**
   * Run the registered stop functions, newest first, each awaited before the next; returns
   * how many failed. Functions registered after this starts are not run.
   */
  async runStops (logger: Logger, shouldContinue: () => boolean = () => true): Promise<number> {
    let failures = 0
    for (const { fn } of [...this.stops].reverse()) {
      if (!shouldContinue()) break
      try {
        await fn()
      } catch (err) {
        failures++
        logger.error('shutdown.step_failed', { error: err })
      }
    }
    return failures
  }

  installSignalHandlers (options: SignalHandlerOptions): SignalHandlers {
    const { logger, exit = (code: number) => process.exit(code), graceMs = DEFAULT_GRACE_MS, signals = process, onReload, onStopping } = options
    let stopping: Promise<void> | undefined
    let exited = false
    let timer: NodeJS.Timeout | undefined
    let reloading = false

    const exitOnce = (code: number): void => {
      if (exited) return
      exited = true
      clearTimeout(timer)
      exit(code)
    }

    const shutdown = (reason: string): Promise<void> => {
      stopping ??= (async () => {
        logger.info('shutdown.started', { reason })
        onStopping?.()
        timer = setTimeout(() => {
          logger.error('shutdown.timeout', { graceMs })
          exitOnce(1)
        }, graceMs)
        const failures = await this.runStops(logger, () => !exited)
        if (exited) return
        logger.info('shutdown.finished', { failures })
        exitOnce(failures === 0 ? 0 : 1)
      })()
      return stopping
    }

    const onStopSignal = (signal: NodeJS.Signals) => () => {
      if (stopping === undefined) {
        void shutdown(signal)
      } else {
        logger.warn('shutdown.forced', { signal })
        exitOnce(1)
      }
    }

    const onHangup = (): void => {
      if (onReload === undefined || stopping !== undefined) return
      if (reloading) {
        logger.warn('reload.busy')
        return
      }
      reloading = true
      logger.info('reload.started')
      Promise.resolve()
        .then(onReload)
        .then(() => logger.info('reload.finished'),
          (err: unknown) => logger.error('reload.failed', { error: err }))
        .finally(() => { reloading = false })
    }

    const listeners: Array<[NodeJS.Signals, () => void]> = [
      ['SIGINT', onStopSignal('SIGINT')],
      ['SIGTERM', onStopSignal('SIGTERM')],
    ]
    if (onReload !== undefined) listeners.push(['SIGHUP', onHangup])
    for (const [signal, listener] of listeners) signals.on(signal, listener)

    return {
      shutdown,
      uninstall () {
        for (const [signal, listener] of listeners) signals.off(signal, listener)
        clearTimeout(timer)
      },
    }
  }
}

export function createLifecycle (): Lifecycle {
  return new Lifecycle()
}

/** The process's own lifecycle, used through the two functions below. */
const processLifecycle = new Lifecycle()

/** Register a stop function with the process lifecycle; returns an unregister function. */
export function onShutdown (fn: StopFunction): () => void {
  return processLifecycle.onShutdown(fn)
}

/** Handle SIGINT/SIGTERM (and SIGHUP with `onReload`) for the process lifecycle. */
export function installSignalHandlers (options: SignalHandlerOptions): SignalHandlers {
  return processLifecycle.installSignalHandlers(options)
}
