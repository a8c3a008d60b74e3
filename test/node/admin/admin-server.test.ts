/**
 * The admin server: refuses to bind off loopback unless told to, and on 127.0.0.1:0 answers
 * /healthz (200, 503), /metrics (Prometheus content type, parseable), /descriptor (404 without
 * a provider, 200 with one), 404, 405 and 400 as documented, HEAD without a body, and logs
 * nothing per request above debug.
 */
import t, { type Test } from 'tap'
import { connect } from 'node:net'
import { Writable } from 'node:stream'
import { Client, request } from 'undici'
import { ConfigError } from '../../../src/base/config-error.js'
import { AdminServer, type AdminServerOptions } from '../../../src/node/admin/admin-server.js'
import { AdminError } from '../../../src/node/admin/errors.js'
import { clientHealth, mixHealth } from '../../../src/node/admin/health.js'
import { isLoopbackAddress, isLoopbackHost } from '../../../src/node/admin/loopback.js'
import { createLogger, type LogLevel } from '../../../src/base/logger.js'
import { parsePrometheusText, sampleValue } from '../../../src/node/metrics/parse-text.js'
import { MetricsRegistry, PROMETHEUS_CONTENT_TYPE } from '../../../src/node/metrics/registry.js'

async function serve (t: Test, options: Partial<AdminServerOptions> = {}) {
  const registry = new MetricsRegistry()
  registry.counterFrom('mixgate_cells_in_total', 'Cells received from links.', () => 12)
  const server = new AdminServer({ host: '127.0.0.1', port: 0, role: 'mix', metrics: registry, uptimeS: () => 42, ...options })
  const address = await server.start()
  t.teardown(() => server.close())
  const client = new Client(`http://127.0.0.1:${address.port}`)
  t.teardown(() => client.destroy())
  const get = async (path: string, method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE' = 'GET') => {
    const response = await request(`http://127.0.0.1:${address.port}${path}`, { dispatcher: client, method })
    return { status: response.statusCode, headers: response.headers, text: await response.body.text() }
  }
  return { server, address, registry, get }
}

/** One raw HTTP exchange: what the server answers to exactly these bytes. */
async function raw (port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes))
    let answer = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => { answer += chunk })
    socket.on('end', () => resolve(answer))
    socket.on('error', reject)
  })
}

function configError (t: Test, fn: () => unknown): void {
  try {
    fn()
    t.fail('expected a ConfigError')
  } catch (err) {
    t.ok(err instanceof ConfigError, 'a ConfigError')
    t.equal((err as ConfigError).code, 'CONFIG_INVALID')
  }
}

const metrics = { render: () => '' }

t.test('only loopback addresses count as loopback', async (t) => {
  for (const host of ['127.0.0.1', '127.255.255.254', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) {
    t.ok(isLoopbackAddress(host), `${host} is loopback`)
  }
  for (const host of ['0.0.0.0', '128.0.0.1', '10.0.0.1', '::', '::2', '::ffff:10.0.0.1', 'localhost', '127.example']) {
    t.notOk(isLoopbackAddress(host), `${host} is not a loopback address`)
  }
  t.ok(isLoopbackHost('localhost'))
  t.ok(isLoopbackHost('LOCALHOST'))
  t.notOk(isLoopbackHost('example.com'))
})

t.test('a non-loopback host is a config error unless allowNonLoopback is set', async (t) => {
  for (const host of ['0.0.0.0', '::', '192.0.2.1', 'example.com']) {
    configError(t, () => new AdminServer({ host, port: 0, role: 'mix', metrics }))
  }
  try {
    new AdminServer({ host: '0.0.0.0', port: 9100, role: 'mix', metrics, configField: 'admin.listen' })
    t.fail('expected a ConfigError')
  } catch (err) {
    t.equal((err as ConfigError).issues[0]?.path, 'admin.listen', 'the issue names the config field')
    t.match((err as Error).message, /allowNonLoopback/)
  }
  t.ok(new AdminServer({ host: '0.0.0.0', port: 0, role: 'mix', metrics, allowNonLoopback: true }), 'allowed when asked for')
})

t.test('a port outside 0..65535 is a config error', async (t) => {
  for (const port of [-1, 65536, 1.5, NaN]) configError(t, () => new AdminServer({ host: '127.0.0.1', port, role: 'mix', metrics }))
})

t.test('/healthz answers 200 with status, role and uptime', async (t) => {
  const { get } = await serve(t, { health: mixHealth({ successorUp: true }) })
  const r = await get('/healthz')
  t.equal(r.status, 200)
  t.match(r.headers['content-type'], /^application\/json/)
  t.same(JSON.parse(r.text), { status: 'ok', role: 'mix', uptimeS: 42 })
  t.equal(r.headers['cache-control'], 'no-store')
})

t.test('/healthz answers 503 with a reason when the health check says unhealthy', async (t) => {
  const client = { entryUp: false }
  const { get } = await serve(t, { role: 'client', health: clientHealth(client) })
  const r = await get('/healthz')
  t.equal(r.status, 503)
  t.same(JSON.parse(r.text), { status: 'unhealthy', role: 'client', uptimeS: 42, reason: 'entry_down' })
  client.entryUp = true
  t.equal((await get('/healthz')).status, 200, 'the check is asked on every request')
})

t.test('/healthz answers 503 when the health check throws', async (t) => {
  const { get } = await serve(t, { health: () => { throw new Error('boom') } })
  const r = await get('/healthz')
  t.equal(r.status, 503)
  t.equal(JSON.parse(r.text).reason, 'check_failed')
})

t.test('/metrics is Prometheus text 0.0.4 and parses; a query string is ignored', async (t) => {
  const { get, registry } = await serve(t)
  const r = await get('/metrics')
  t.equal(r.status, 200)
  t.equal(r.headers['content-type'], PROMETHEUS_CONTENT_TYPE)
  t.equal(PROMETHEUS_CONTENT_TYPE, 'text/plain; version=0.0.4; charset=utf-8')
  t.equal(r.text, await registry.render())
  t.equal(sampleValue(parsePrometheusText(r.text), 'mixgate_cells_in_total'), 12)
  t.equal((await get('/metrics?name[]=x')).status, 200)
})

t.test('/metrics answers 500 when rendering throws', async (t) => {
  const { get } = await serve(t, { metrics: { render: () => { throw new Error('boom') } } })
  t.equal((await get('/metrics')).status, 500)
})

t.test('/descriptor is 404 without a provider', async (t) => {
  const { get } = await serve(t)
  t.equal((await get('/descriptor')).status, 404)
})

t.test('/descriptor serves the provider\'s JSON: objects encoded, strings and bytes as they are', async (t) => {
  let value: unknown = { version: 1, nodes: [] }
  const { get } = await serve(t, { descriptor: async () => value as object | undefined })
  let r = await get('/descriptor')
  t.equal(r.status, 200)
  t.match(r.headers['content-type'], /^application\/json/)
  t.same(JSON.parse(r.text), { version: 1, nodes: [] })
  value = '{ "signed":  "exactly these bytes" }'
  t.equal((await get('/descriptor')).text, value, 'a string is served byte for byte')
  value = new TextEncoder().encode('{"b":1}')
  t.equal((await get('/descriptor')).text, '{"b":1}')
  value = undefined
  r = await get('/descriptor')
  t.equal(r.status, 503, 'nothing to serve yet')
})

t.test('/descriptor answers 500 when the provider fails', async (t) => {
  const { get } = await serve(t, { descriptor: () => { throw new Error('boom') } })
  t.equal((await get('/descriptor')).status, 500)
})

t.test('other paths are 404', async (t) => {
  const { get } = await serve(t)
  for (const path of ['/', '/metrics/', '/healthzx', '/admin/metrics', '/%2e%2e/etc/passwd']) {
    t.equal((await get(path)).status, 404, path)
  }
})

t.test('methods other than GET and HEAD are 405 with an Allow header', async (t) => {
  const { get } = await serve(t)
  for (const method of ['POST', 'PUT', 'DELETE'] as const) {
    const r = await get('/metrics', method)
    t.equal(r.status, 405, method)
    t.equal(r.headers['allow'], 'GET, HEAD')
  }
})

t.test('HEAD gets the headers of GET and no body', async (t) => {
  const { get } = await serve(t)
  const full = await get('/metrics')
  const head = await get('/metrics', 'HEAD')
  t.equal(head.status, 200)
  t.equal(head.text, '')
  t.equal(head.headers['content-length'], String(Buffer.byteLength(full.text)))
})

t.test('a request with a body is answered 400 and the connection closed, the body unread', async (t) => {
  const { address } = await serve(t)
  const answer = await raw(address.port, 'GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello')
  t.match(answer, /^HTTP\/1\.1 400 /)
  t.match(answer, /\r\nconnection: close\r\n/i)
  const chunked = await raw(address.port, 'GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n')
  t.match(chunked, /^HTTP\/1\.1 400 /)
})

t.test('the server has short header and request deadlines and caps connections', async (t) => {
  const { server } = await serve(t)
  const http = (server as unknown as { server: import('node:http').Server }).server
  t.ok(http.headersTimeout > 0 && http.headersTimeout <= 10_000, 'headersTimeout')
  t.ok(http.requestTimeout > 0 && http.requestTimeout <= 30_000, 'requestTimeout')
  t.ok(http.maxConnections > 0 && http.maxConnections <= 64, 'maxConnections')
})

t.test('localhost binds a loopback address', async (t) => {
  const server = new AdminServer({ host: 'localhost', port: 0, role: 'exit', metrics })
  const address = await server.start()
  t.teardown(() => server.close())
  t.ok(isLoopbackAddress(address.host), `bound ${address.host}`)
  t.ok(address.port > 0)
})

t.test('start twice is refused; a port in use is ADMIN_LISTEN_FAILED', async (t) => {
  const { server, address } = await serve(t)
  await t.rejects(server.start(), { code: 'ADMIN_STATE' })
  const second = new AdminServer({ host: '127.0.0.1', port: address.port, role: 'mix', metrics })
  const failure = await second.start().then(() => undefined, (err: unknown) => err)
  t.ok(failure instanceof AdminError, 'an AdminError')
  t.equal((failure as AdminError).code, 'ADMIN_LISTEN_FAILED')
  t.match((failure as Error).message, /EADDRINUSE/)
  await second.close()
})

t.test('close ends the server and is safe to repeat', async (t) => {
  const server = new AdminServer({ host: '127.0.0.1', port: 0, role: 'mix', metrics })
  const { port } = await server.start()
  await server.close()
  await server.close()
  await t.rejects(raw(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'), { code: 'ECONNREFUSED' })
})

async function logged (t: Test, level: LogLevel): Promise<string[]> {
  const lines: string[] = []
  const stream = new Writable({
    write (chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line !== '') lines.push(JSON.parse(line).event)
      done()
    },
  })
  const logger = createLogger({ role: 'mix[1]', format: 'json', level, stream })
  const { get } = await serve(t, { logger })
  for (const path of ['/healthz', '/metrics', '/nope']) await get(path)
  await get('/metrics', 'POST')
  return lines
}

t.test('nothing is logged per request above debug; at debug each request is', async (t) => {
  t.same(await logged(t, 'info'), ['admin.listening'])
  t.same((await logged(t, 'debug')).filter((event) => event === 'admin.request').length, 4)
})
