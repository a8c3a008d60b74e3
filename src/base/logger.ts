/**
 * The logger of a node's main thread: the lines of scoped-logger.ts (what a line holds and
 * what is redacted: see there) written through winston, as text or JSON, to standard error
 * by default. A hop's worker thread writes the same lines without winston (stream-logger.ts).
 */
import winston from 'winston'
import { renderJson, renderText, type LogLevel, type LogLine } from './log-line.js'
import { LEVEL_NUMBERS, scopedLogger, type Logger, type LoggerOptions } from './scoped-logger.js'

export { LOG_LEVELS, REDACTED, SENSITIVE_FIELDS, SENSITIVE_SUFFIXES, type LogFields, type Logger, type LoggerOptions, type LogLevel } from './scoped-logger.js'

const MESSAGE = Symbol.for('message') // where winston transports look for the finished line

export function createLogger (options: LoggerOptions): Logger {
  const { level = 'info', format = 'text', stream = process.stderr } = options
  const render = format === 'json' ? renderJson : renderText
  const winstonLogger = winston.createLogger({
    levels: LEVEL_NUMBERS,
    level,
    format: winston.format((info) => {
      info[MESSAGE] = render(info as unknown as LogLine)
      return info
    })(),
    transports: [new winston.transports.Stream({ stream })],
  })
  // A closed stderr (EPIPE) must not crash the node through an unhandled 'error' event.
  winstonLogger.on('error', () => {})
  return scopedLogger({
    isLevelEnabled: (lineLevel: LogLevel) => winstonLogger.isLevelEnabled(lineLevel),
    log: (line: LogLine) => { winstonLogger.log(line as unknown as winston.LogEntry) },
  }, options)
}
