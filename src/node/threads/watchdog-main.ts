/**
 * The watchdog thread of a stopping process (hard-exit.ts): if the process is still alive
 * `afterMs` after the thread started, its main thread could not end it (a loop that never
 * yields, or a `process.exit` waiting for a thread that never ends). The watchdog then logs
 * `shutdown.hard_exit` straight to file descriptor 2 (the main thread, which forwards a
 * worker's standard error, may be the one stuck) and kills the process.
 *
 * It waits in Atomics.wait, not on a timer: nothing of its own event loop is needed, and
 * terminating the thread (what `process.exit` does to every worker) wakes and ends it.
 */
import { isMainThread, workerData } from 'node:worker_threads'
import { writeSync } from 'node:fs'
import { renderJson, renderText } from '../../base/log-line.js'

export interface WatchdogData {
  readonly afterMs: number
  /** The log line's role and format: those of the process's own lines. */
  readonly role: string
  readonly format: 'text' | 'json'
}

if (isMainThread) {
  process.stderr.write('watchdog-main: this is the watchdog thread of a stopping mixgate, not a command\n')
  process.exit(2)
}

const { afterMs, role, format } = workerData as WatchdogData
const never = new Int32Array(new SharedArrayBuffer(4))
if (Atomics.wait(never, 0, 0, afterMs) === 'timed-out') {
  // Rendered here and written with one system call: the logger's stream machinery needs an
  // event loop turn this thread will not get before it kills the process.
  const line = { level: 'error' as const, message: 'shutdown.hard_exit', time: new Date().toISOString(), role, scope: undefined, fields: { reason: 'the main thread did not end the process', afterMs, how: 'kill' } }
  writeSync(2, (format === 'json' ? renderJson(line) : renderText(line)) + '\n')
  process.kill(process.pid, 'SIGKILL')
}
