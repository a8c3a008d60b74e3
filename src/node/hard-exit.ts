/**
 * The last resort of a stop: whatever the threads do, the process ends by a deadline.
 *
 * Why: `process.exit` ends a process only once every worker thread has ended. A thread busy
 * in JavaScript ends when terminated, but one blocked in native code (a synchronous system
 * call, a native addon's loop) ignores terminate(), and `process.exit` then waits for it
 * forever; a main thread that spins (a synchronous or microtask loop) never reaches its
 * timers at all. `mixgate up` was once seen alive 11 minutes after SIGTERM, the main thread
 * and one other thread busy, after logging that the exit's thread had been terminated
 * (docs/RELIABILITY.md, "Stopping").
 *
 * Two guards, armed when the shutdown starts (serve.ts):
 *   - on this thread, `afterMs` later (HARD_EXIT_MS): `shutdown.hard_exit` is logged with the
 *     threads still running; with none, `process.exit(1)`; with any, the process kills itself
 *     (SIGKILL), as `process.exit` would wait for them.
 *   - a watchdog thread (watchdog-main.ts), WATCHDOG_MARGIN_MS after that, for a main thread
 *     that could not run its timer: it logs the same event and kills the process. It holds
 *     nothing: a process that ends first ends it too.
 * Both timers are unreferenced: a stop that goes well ends the process as before.
 */
import { Worker } from 'node:worker_threads'
import type { Logger, LoggerOptions } from '../base/logger.js'
import { DEFAULT_GRACE_MS } from './lifecycle.js'
import type { WatchdogData } from './threads/watchdog-main.js'

/** From the start of the shutdown to the hard exit: twice the lifecycle's grace period (10 s). */
export const HARD_EXIT_MS = 2 * DEFAULT_GRACE_MS
/** How much later the watchdog thread acts if this thread did not. */
export const WATCHDOG_MARGIN_MS = 5_000

const WATCHDOG_ENTRY = new URL('./threads/watchdog-main.js', import.meta.url)

export interface HardExitOptions {
  readonly logger: Logger
  /** How the watchdog thread writes its line (the same role and format as `logger`). */
  readonly log: Pick<LoggerOptions, 'role' | 'format'>
  /** From now (default HARD_EXIT_MS). */
  readonly afterMs?: number
  /** The labels of the worker threads still running (`process.exit` would wait for each). */
  readonly running?: () => readonly string[]
  /** When the watchdog thread acts, from now (default afterMs + WATCHDOG_MARGIN_MS); `false`: no watchdog. */
  readonly watchdogMs?: number | false
}

/** Arm both guards; call when the shutdown starts. */
export function armHardExit (options: HardExitOptions): void {
  const afterMs = options.afterMs ?? HARD_EXIT_MS
  const started = Date.now()
  const end = (): void => {
    const running = options.running?.() ?? []
    const how = running.length === 0 ? 'exit' : 'kill'
    options.logger.error('shutdown.hard_exit', { reason: 'deadline', afterMs: Date.now() - started, running, how })
    if (how === 'exit') process.exit(1)
    // Not process.exit: it would wait for those threads. SIGKILL cannot be caught or delayed.
    process.kill(process.pid, 'SIGKILL')
  }
  setTimeout(end, afterMs).unref()
  if (options.watchdogMs !== false) startWatchdog(options, options.watchdogMs ?? afterMs + WATCHDOG_MARGIN_MS)
}

function startWatchdog (options: HardExitOptions, afterMs: number): void {
  try {
    const workerData: WatchdogData = { afterMs, role: options.log.role, format: options.log.format ?? 'text' }
    // Small: it loads only the logger, and no resource limit could make it fail to act.
    const watchdog = new Worker(WATCHDOG_ENTRY, { workerData })
    watchdog.unref()
    watchdog.on('error', (err) => options.logger.warn('shutdown.watchdog_failed', { error: err }))
  } catch (err) {
    // This thread's deadline still stands.
    options.logger.warn('shutdown.watchdog_failed', { error: err })
  }
}
