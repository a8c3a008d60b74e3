/**
 * The front door with a real app: curl through `--socks5-hostname` (name sent unresolved),
 * `--socks5` (curl resolves, an IP literal arrives: warning), `--proxy-user` (credentials
 * reach the handler), and a refusal (REP 0x05) that curl reports as the proxy refusing.
 * Bodies are 384 KiB and compared by SHA-256.
 */
import t from 'tap'
import { BODY, curl, startFront, startHttpServer, sha256 } from './harness.js'

t.test('curl --socks5-hostname: the name arrives unresolved and the body intact', async (t) => {
  const target = await startHttpServer(t)
  const { port, record, front } = await startFront(t)
  const result = await curl(['--socks5-hostname', `127.0.0.1:${port}`, `http://localhost:${target.port}/hostname`])
  t.equal(result.exitCode, 0, result.stderr)
  t.equal(sha256(result.stdout), sha256(BODY), 'body SHA-256 matches')
  t.same(record.requests, [{ host: 'localhost', port: target.port, addressType: 'hostname' }], 'handler saw the name, not an address')
  t.same(record.warnings, [], 'no warning for a name')
  t.same(record.errors, [])
  t.match(front.counters(), { connections: 1, accepted: 1, pending: 0, rejected: {}, errors: {} })
})

t.test('curl --socks5: an IP literal is served and raises SOCKS_UNSAFE_IP_LITERAL', async (t) => {
  const target = await startHttpServer(t)
  const { port, record, front } = await startFront(t)
  const result = await curl(['--socks5', `127.0.0.1:${port}`, `http://127.0.0.1:${target.port}/literal`])
  t.equal(result.exitCode, 0, result.stderr)
  t.equal(sha256(result.stdout), sha256(BODY), 'body SHA-256 matches')
  t.same(record.requests, [{ host: '127.0.0.1', port: target.port, addressType: 'ipv4' }])
  t.same(record.warnings, ['SOCKS_UNSAFE_IP_LITERAL'], 'one warning, with no address in it')
  t.same(front.counters().warnings, { SOCKS_UNSAFE_IP_LITERAL: 1 })
})

t.test('curl --proxy-user u:p: the handler sees username u and password p', async (t) => {
  const target = await startHttpServer(t)
  const { port, record } = await startFront(t)
  const result = await curl(['--socks5-hostname', `127.0.0.1:${port}`, '--proxy-user', 'u:p', `http://localhost:${target.port}/auth`])
  t.equal(result.exitCode, 0, result.stderr)
  t.equal(sha256(result.stdout), sha256(BODY), 'body SHA-256 matches')
  t.same(record.requests, [{ host: 'localhost', port: target.port, addressType: 'hostname', username: 'u', password: 'p' }])
})

t.test('curl --proxy-user with an empty password: still accepted, as an isolation key', async (t) => {
  const target = await startHttpServer(t)
  const { port, record } = await startFront(t)
  const result = await curl(['--socks5-hostname', `127.0.0.1:${port}`, '--proxy-user', 'isolation-key:', `http://localhost:${target.port}/`])
  t.equal(result.exitCode, 0, result.stderr)
  t.equal(sha256(result.stdout), sha256(BODY))
  t.match(record.requests, [{ username: 'isolation-key', password: '' }])
})

t.test('no-auth only: curl with credentials falls back to no authentication', async (t) => {
  const target = await startHttpServer(t)
  const { port, record } = await startFront(t, { auth: { none: true, userPass: false } })
  const result = await curl(['--socks5-hostname', `127.0.0.1:${port}`, '--proxy-user', 'u:p', `http://localhost:${target.port}/`])
  t.equal(result.exitCode, 0, result.stderr)
  t.equal(sha256(result.stdout), sha256(BODY))
  t.same(record.requests, [{ host: 'localhost', port: target.port, addressType: 'hostname' }], 'no credentials without method 0x02')
})

t.test('reject(0x05): curl reports the proxy refusing the connection', async (t) => {
  const target = await startHttpServer(t)
  const { port, record, front } = await startFront(t, { onConnect: (_request, pending) => { pending.reject(0x05) } })
  const result = await curl(['--socks5-hostname', `127.0.0.1:${port}`, `http://localhost:${target.port}/refused`])
  // curl 7.x exits 7 (could not connect); curl ≥ 8 exits 97 (proxy handshake error).
  t.ok(result.exitCode === 7 || result.exitCode === 97, `curl exit code ${result.exitCode} means a failed proxy connect`)
  t.match(result.stderr, /SOCKS5.*(\(5\)|refused)/i, 'curl names SOCKS5 and REP 5 as the failure')
  t.equal(result.stdout.length, 0, 'no body')
  t.same(target.requests, [], 'nothing reached the destination')
  t.equal(record.requests.length, 1)
  t.same(front.counters().rejected, { 5: 1 })
})
