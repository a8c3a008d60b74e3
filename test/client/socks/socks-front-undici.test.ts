/**
 * The front door with undici's SOCKS5 client (undici 7: `Socks5ProxyAgent`, a dispatcher for
 * undici's own fetch), with and without credentials, and a refusal that fetch surfaces.
 */
import t from 'tap'
import { Socks5ProxyAgent, fetch } from 'undici'
import { socksReplyForEnd, EndReason } from '../../../src/protocol/end-reason.js'
import { BODY, sha256, startFront, startHttpServer } from './harness.js'

t.test('undici Socks5ProxyAgent fetches through the front, body intact', async (t) => {
  const target = await startHttpServer(t)
  const { port, record } = await startFront(t)
  const agent = new Socks5ProxyAgent(`socks5://127.0.0.1:${port}`)
  t.teardown(() => agent.destroy())
  const response = await fetch(`http://localhost:${target.port}/undici`, { dispatcher: agent })
  t.equal(response.status, 200)
  const body = Buffer.from(await response.arrayBuffer())
  t.equal(sha256(body), sha256(BODY), 'body SHA-256 matches')
  t.same(record.requests, [{ host: 'localhost', port: target.port, addressType: 'hostname' }])
  t.same(target.requests, ['GET /undici'])
})

t.test('undici with username and password: the handler sees them', async (t) => {
  const target = await startHttpServer(t)
  const { port, record } = await startFront(t)
  const agent = new Socks5ProxyAgent(`socks5://127.0.0.1:${port}`, { username: 'site-a', password: 'nonce-1' })
  t.teardown(() => agent.destroy())
  const response = await fetch(`http://localhost:${target.port}/isolated`, { dispatcher: agent })
  t.equal(sha256(Buffer.from(await response.arrayBuffer())), sha256(BODY))
  t.same(record.requests, [{ host: 'localhost', port: target.port, addressType: 'hostname', username: 'site-a', password: 'nonce-1' }])
})

t.test('undici: a refusal mapped from an END reason fails the fetch with that REP', async (t) => {
  const target = await startHttpServer(t)
  const rep = socksReplyForEnd(EndReason.RESOLVE_FAILED)
  const { port, front } = await startFront(t, { onConnect: (_request, pending) => { pending.reject(rep) } })
  const agent = new Socks5ProxyAgent(`socks5://127.0.0.1:${port}`)
  t.teardown(() => agent.destroy())
  const failure = await fetch(`http://localhost:${target.port}/`, { dispatcher: agent }).then(() => undefined, (err: unknown) => err)
  t.type(failure, Error, 'fetch rejects')
  t.equal((failure as Error & { cause?: { code?: string } }).cause?.code, `UND_ERR_SOCKS5_REPLY_${rep}`, 'undici read REP 0x04 from a well-formed reply')
  t.same(front.counters().rejected, { [rep]: 1 })
  t.same(target.requests, [])
})
