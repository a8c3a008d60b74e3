/**
 * The node logger: line formats, level filtering, child scopes, and redaction of sensitive
 * fields and error text above debug level (DESIGN-REVIEW R19).
 */
import t from 'tap'
import { Writable } from 'node:stream'
import { MixgateError } from '../../src/errors.js'
import { createLogger, type LoggerOptions, type Logger } from '../../src/base/logger.js'

const NOW = new Date('2026-11-25T21:00:00.000Z')

/** A logger writing into an array of lines. */
function capture (options: Partial<LoggerOptions> = {}): { log: Logger, lines: string[] } {
  const lines: string[] = []
  const stream = new Writable({
    write (chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter((l) => l !== ''))
      done()
    },
  })
  return { log: createLogger({ role: 'mix[1]', stream, now: () => NOW, ...options }), lines }
}

t.test('text format: one line of time, level, role and scope, event, then name=value fields', async (t) => {
  const { log, lines } = capture()
  log.info('link.accepted', { peer: 'mix2', cells: 42, ok: true })
  log.child('link').warn('link.slow', { note: 'two words', multi: 'a\nb', none: null, skipped: undefined })
  t.same(lines, [
    '2026-11-25T21:00:00.000Z info mix[1] link.accepted peer=mix2 cells=42 ok=true',
    '2026-11-25T21:00:00.000Z warn mix[1]:link link.slow note="two words" multi="a\\nb" none=null',
  ])
})

t.test('JSON format: one object per line; fields cannot overwrite the line\'s own keys', async (t) => {
  const { log, lines } = capture({ format: 'json' })
  log.info('link.accepted', { peer: 'mix2', nested: { count: 1 } })
  log.child('round').error('round.late', { level: 'x', event: 'y', time: 3 })
  t.equal(lines.length, 2)
  t.same(JSON.parse(lines[0]!), { time: NOW.toISOString(), level: 'info', role: 'mix[1]', event: 'link.accepted', peer: 'mix2', nested: { count: 1 } })
  t.same(JSON.parse(lines[1]!), { time: NOW.toISOString(), level: 'error', role: 'mix[1]', scope: 'round', event: 'round.late', level_: 'x', event_: 'y', time_: 3 })
})

t.test('level filtering: only the configured level and above are written', async (t) => {
  const { log, lines } = capture({ level: 'warn' })
  log.debug('a')
  log.info('b')
  log.warn('c')
  log.error('d')
  t.same(lines.map((l) => l.split(' ')[3]), ['c', 'd'])
  t.equal(log.isLevelEnabled('info'), false)
  t.equal(log.isLevelEnabled('error'), true)
  const quiet = capture()
  quiet.log.debug('hidden')
  t.same(quiet.lines, [], 'debug is off by default')
})

t.test('a disabled level does no work: the fields are never read', async (t) => {
  const { log } = capture({ level: 'info' })
  let reads = 0
  const fields = { get expensive () { reads++; return 'x' } }
  log.debug('cell.forwarded', fields)
  log.child('a').debug('cell.forwarded', fields)
  t.equal(reads, 0)
  log.info('cell.forwarded', fields)
  t.equal(reads, 1, 'an enabled level reads them once')
})

t.test('sensitive fields are redacted above debug level, at any depth, and shown in debug lines', async (t) => {
  const fields = {
    destination: 'secret.example:443',
    host: 'secret.example',
    clientAddress: '192.0.2.7',
    remoteAddress: '192.0.2.8',
    circuitId: 77,
    linkKey: 'k',
    clientIp: '192.0.2.9',
    peer_address: '192.0.2.10',
    target: { host: 'secret.example', port: 443, hops: [{ circuitId: 1 }] },
    peer: 'mix2',
  }
  const info = capture({ level: 'debug', format: 'json' })
  info.log.info('stream.opened', fields)
  const line = JSON.parse(info.lines[0]!)
  for (const name of ['destination', 'host', 'clientAddress', 'remoteAddress', 'circuitId', 'linkKey', 'clientIp', 'peer_address']) {
    t.equal(line[name], '[redacted]', `${name} redacted at info`)
  }
  t.same(line.target, { host: '[redacted]', port: 443, hops: [{ circuitId: '[redacted]' }] }, 'nested fields too')
  t.equal(line.peer, 'mix2', 'other fields are kept')
  t.notMatch(info.lines[0]!, /secret|192\.0\.2/)
  for (const level of ['warn', 'error'] as const) {
    info.log[level]('x', { host: 'secret.example' })
    t.notMatch(info.lines.at(-1)!, /secret/, `redacted at ${level}`)
  }

  const debug = capture({ level: 'debug', format: 'json' })
  debug.log.debug('stream.opened', fields)
  const shown = JSON.parse(debug.lines[0]!)
  t.equal(shown.destination, 'secret.example:443')
  t.equal(shown.circuitId, 77)
  t.same(shown.target, fields.target)
})

t.test('extra sensitive names can be added; words that merely contain a sensitive name are not touched', async (t) => {
  const { log, lines } = capture({ sensitive: ['socksUser'] })
  log.info('x', { socksUser: 'alice', monkey: 1, keys: 2, hostCount: 3 })
  t.match(lines[0]!, / socksUser=\[redacted\] monkey=1 keys=2 hostCount=3$/)
})

t.test('errors: name and code always, message only for MixgateError, detail only in debug lines', async (t) => {
  const mixgate = new MixgateError('LINK_CLOSED', 'link closed by peer', { detail: 'peer 192.0.2.1:4000' })
  const system = Object.assign(new Error('connect ECONNREFUSED 192.0.2.2:443'), { code: 'ECONNREFUSED' })
  const wrapped = new MixgateError('EXIT_CONNECT', 'could not connect', { cause: system })
  const { log, lines } = capture({ level: 'debug', format: 'json' })
  log.warn('link.failed', { error: mixgate })
  log.warn('stream.failed', { error: wrapped })
  log.debug('stream.failed', { error: wrapped, first: mixgate })
  t.same(JSON.parse(lines[0]!).error, { name: 'MixgateError', code: 'LINK_CLOSED', message: 'link closed by peer' })
  t.same(JSON.parse(lines[1]!).error, {
    name: 'MixgateError', code: 'EXIT_CONNECT', message: 'could not connect', cause: { name: 'Error', code: 'ECONNREFUSED' },
  })
  const debug = JSON.parse(lines[2]!)
  t.same(debug.error.cause, { name: 'Error', code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 192.0.2.2:443' })
  t.equal(debug.first.detail, 'peer 192.0.2.1:4000')
  t.notMatch(lines.slice(0, 2).join('\n'), /192\.0\.2/)
})

t.test('byte arrays are never written, at any level, only their length', async (t) => {
  const { log, lines } = capture({ level: 'debug' })
  const secret = new Uint8Array(32).fill(0xaa)
  log.debug('key.loaded', { key: secret, other: Buffer.from('hello') })
  t.equal(lines[0], '2026-11-25T21:00:00.000Z debug mix[1] key.loaded key="<32 bytes>" other="<5 bytes>"')
})

t.test('child scopes nest and share the parent\'s level and output', async (t) => {
  const { log, lines } = capture({ role: 'exit' })
  const noise = log.child('link').child('noise')
  noise.info('handshake.done')
  noise.debug('hidden')
  t.same(lines, ['2026-11-25T21:00:00.000Z info exit:link:noise handshake.done'])
})

t.test('odd values are written as text safely and long strings are cut', async (t) => {
  const { log, lines } = capture()
  log.info('x', { n: NaN, big: 10n, when: new Date(0), fn: () => 1, list: [1, 'a'], long: 'y'.repeat(2000) })
  const line = lines[0]!
  t.match(line, / n=NaN big=10 when=1970-01-01T00:00:00.000Z fn=\[function\] list=\[1,"a"\] long=/)
  t.ok(line.length < 1200, 'long string cut to 1024 characters')
})
