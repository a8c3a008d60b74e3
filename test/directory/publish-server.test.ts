/**
 * The publish server answers exactly two documents, caches them briefly, and refuses the
 * rest of HTTP plainly: it faces the Internet.
 */
import t from 'tap'
import { request } from 'undici'
import { startPublishServer } from '../../src/directory/publish-server.js'
import { memoryLogger } from '../helpers/cascade.js'

async function get (url: string, init: { method?: 'GET' | 'HEAD' | 'POST', body?: string } = {}): Promise<{ status: number, text: string, headers: Record<string, unknown> }> {
  const res = await request(url, { method: init.method ?? 'GET', ...(init.body === undefined ? {} : { body: init.body }) })
  return { status: res.statusCode, text: await res.body.text(), headers: res.headers }
}

t.test('serves /descriptor and /cascade as JSON, and nothing else', async (t) => {
  const server = await startPublishServer({
    address: { host: '127.0.0.1', port: 0 },
    descriptor: () => ({ type: 'node' }),
    cascade: async () => '{"type":"cascade"}',
    logger: memoryLogger().logger,
  })
  t.teardown(() => server.close())
  const descriptor = await get(`${server.url}/descriptor`)
  t.equal(descriptor.status, 200)
  t.same(JSON.parse(descriptor.text), { type: 'node' })
  t.match(descriptor.headers['content-type'], /application\/json/)
  t.same(JSON.parse((await get(`${server.url}/cascade`)).text), { type: 'cascade' })
  for (const path of ['/metrics', '/healthz', '/', '/descriptor/../metrics']) t.equal((await get(`${server.url}${path}`)).status, 404, path)
  t.equal((await get(`${server.url}/descriptor`, { method: 'POST', body: 'x' })).status, 405)
  t.equal((await get(`${server.url}/descriptor`, { method: 'HEAD' })).status, 200)
})

t.test('without a cascade provider, /cascade is not there', async (t) => {
  const server = await startPublishServer({ address: { host: '127.0.0.1', port: 0 }, descriptor: () => ({}), logger: memoryLogger().logger })
  t.teardown(() => server.close())
  t.equal((await get(`${server.url}/cascade`)).status, 404)
})

t.test('an answer is reused for cacheMs; a failure is not', async (t) => {
  let calls = 0
  let fail = true
  const server = await startPublishServer({
    address: { host: '127.0.0.1', port: 0 },
    descriptor: () => {
      calls++
      if (fail) throw Object.assign(new Error('peer down'), { code: 'PEER_DOWN' })
      return { n: calls }
    },
    logger: memoryLogger().logger,
    cacheMs: 60_000,
  })
  t.teardown(() => server.close())
  t.equal((await get(`${server.url}/descriptor`)).status, 503, 'a failing provider gives 503')
  fail = false
  const first = await get(`${server.url}/descriptor`)
  t.equal(first.status, 200, 'the failure was not cached')
  const second = await get(`${server.url}/descriptor`)
  t.equal(second.text, first.text, 'the same answer within cacheMs')
  t.equal(calls, 2, 'one failed call, one good call')
})

t.test('a provider with nothing yet gives 503', async (t) => {
  const server = await startPublishServer({ address: { host: '127.0.0.1', port: 0 }, descriptor: () => undefined, logger: memoryLogger().logger })
  t.teardown(() => server.close())
  t.equal((await get(`${server.url}/descriptor`)).status, 503)
})

t.test('a port in use is a typed error', async (t) => {
  const first = await startPublishServer({ address: { host: '127.0.0.1', port: 0 }, descriptor: () => ({}), logger: memoryLogger().logger })
  t.teardown(() => first.close())
  await t.rejects(startPublishServer({ address: first.address, descriptor: () => ({}), logger: memoryLogger().logger }), { code: 'PUBLISH_LISTEN_FAILED' })
})
