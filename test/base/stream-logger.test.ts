/**
 * The hop threads' logger (src/base/stream-logger.ts) writes, without winston, exactly the
 * lines the main thread's winston logger writes for the same calls: same formats, levels,
 * scopes and redaction; and a stream that fails does not throw into the caller.
 */
import t from 'tap'
import { Writable } from 'node:stream'
import { MixgateError } from '../../src/errors.js'
import { createLogger, type Logger, type LoggerOptions } from '../../src/base/logger.js'
import { createStreamLogger } from '../../src/base/stream-logger.js'

const NOW = new Date('2026-12-08T03:00:00.000Z')

function capture (make: (options: LoggerOptions) => Logger, options: Partial<LoggerOptions>): { log: Logger, lines: string[] } {
  const lines: string[] = []
  const stream = new Writable({
    write (chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter((l) => l !== ''))
      done()
    },
  })
  return { log: make({ role: 'exit', stream, now: () => NOW, ...options }), lines }
}

/** The same calls on a logger: every level, a child scope, sensitive names, an error, bytes. */
function exercise (log: Logger): void {
  log.debug('circuit.created', { circuitId: 7 })
  log.info('link.accepted', { peer: 'mix2', cells: 42, note: 'two words' })
  log.child('exit').warn('stream.refused', { destination: '10.0.0.1', clientAddress: '127.0.0.1', bytes: new Uint8Array(32) })
  log.child('exit').child('dns').error('resolve.failed', { err: Object.assign(new Error('getaddrinfo ENOTFOUND example.org'), { code: 'ENOTFOUND' }) })
  log.error('config.bad', { err: new MixgateError('CONFIG_INVALID', 'the field "x" is wrong') })
}

for (const format of ['text', 'json'] as const) {
  for (const level of ['debug', 'info', 'error'] as const) {
    t.test(`${format}, level ${level}: the same lines as the winston logger`, async (t) => {
      const winston = capture(createLogger, { format, level })
      const direct = capture(createStreamLogger, { format, level })
      exercise(winston.log)
      exercise(direct.log)
      t.ok(winston.lines.length > 0, `${winston.lines.length} lines written`)
      t.same(direct.lines, winston.lines)
      for (const l of ['debug', 'info', 'warn', 'error'] as const) t.equal(direct.log.isLevelEnabled(l), winston.log.isLevelEnabled(l), `${l} enabled alike`)
    })
  }
}

t.test('redacted above debug level, as every node log', async (t) => {
  const { log, lines } = capture(createStreamLogger, {})
  log.warn('stream.refused', { destination: 'example.org', peerKey: 'abc' })
  t.same(lines, ['2026-12-08T03:00:00.000Z warn exit stream.refused destination=[redacted] peerKey=[redacted]'])
})

t.test('a failing stream does not throw into the caller', async (t) => {
  const stream = new Writable({ write (_chunk, _encoding, done) { done(new Error('EPIPE')) } })
  const log = createStreamLogger({ role: 'exit', stream })
  t.doesNotThrow(() => { log.error('a'); log.error('b') })
  await new Promise((resolve) => setImmediate(resolve))
  t.doesNotThrow(() => log.error('c'), 'still after the error event')
})

t.test('loggers on one stream add one error listener between them', async (t) => {
  const stream = new Writable({ write (_chunk, _encoding, done) { done() } })
  for (let i = 0; i < 4; i++) createStreamLogger({ role: `mix[${i + 1}]`, stream })
  t.equal(stream.listenerCount('error'), 1)
})
