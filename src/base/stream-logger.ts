/**
 * A logger that writes its lines straight to a stream, without winston: for a hop's worker
 * thread under `mixgate up` (src/node/threads/hop-thread-main.ts). Winston there only
 * filtered a level and wrote to the thread's standard error, which Node hands to the process's
 * anyway, and it cost each thread some 2 MB of heap to load (issue #17). The lines are the
 * same as the main thread's (scoped-logger.ts builds and redacts them, log-line.ts renders
 * them), so one process writes one format.
 */
import { renderJson, renderText, type LogLevel } from './log-line.js'
import { LEVEL_NUMBERS, scopedLogger, type Logger, type LoggerOptions } from './scoped-logger.js'

/** A closed stderr (EPIPE) must not crash the node through an unhandled 'error' event. */
const ignoreError = (): void => {}

export function createStreamLogger (options: LoggerOptions): Logger {
  const { level = 'info', format = 'text', stream = process.stderr } = options
  const render = format === 'json' ? renderJson : renderText
  const most = LEVEL_NUMBERS[level]
  // Once per stream: a thread of several hops makes a logger each on the same stderr.
  if (!stream.listeners('error').includes(ignoreError)) stream.on('error', ignoreError)
  return scopedLogger({
    isLevelEnabled: (lineLevel: LogLevel) => LEVEL_NUMBERS[lineLevel] <= most,
    log: (line) => { stream.write(render(line) + '\n') },
  }, options)
}
