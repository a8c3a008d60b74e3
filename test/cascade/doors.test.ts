/**
 * Every door through a loopback cascade (3 mixes and an exit), with real clients: curl
 * --socks4a and --socks4 on the SOCKS port, curl --proxytunnel and undici's ProxyAgent on
 * the HTTP CONNECT port. Each door answers only after the exit did, and maps the same END
 * reasons its own way: a policy refusal, a closed port and an unknown name are SOCKS5 REP
 * 2/5/4 (socks-replies.test.ts), SOCKS4 0x5B, HTTP 403/502/502. Credentials (SOCKS4 user ID,
 * Basic Proxy-Authorization) choose the circuit as SOCKS5 credentials do.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { connect } from 'node:net'
import { ProxyAgent, fetch } from 'undici'
import { cryptoReady } from '../../src/crypto/index.js'
import { startCascade } from '../helpers/cascade.js'
import { startDnsServer } from '../exit/helpers/dns-server.js'
import { SocketReader } from '../helpers/raw-socks.js'
import { closedPort, patternBytes, sha256, startHttpTarget } from '../helpers/targets.js'

await cryptoReady()

const dns = await startDnsServer({ 'known.test': { a: ['127.0.0.1'] } })
t.teardown(() => dns.close())
const target = await startHttpTarget(t)
const cascade = await startCascade({ dnsServers: [dns.server], client: { http: { host: '127.0.0.1', port: 0 } } })
t.teardown(() => cascade.stop())
const socks = `127.0.0.1:${cascade.socksPort}`
const http = `http://127.0.0.1:${cascade.client.http!.port}`
const closed = await closedPort()

interface Run { code: number | null, stdout: Buffer, stderr: string }
async function curl (args: string[]): Promise<Run> {
  return await new Promise((resolve) => {
    execFile('curl', ['-q', '-sS', '--max-time', '20', ...args], { encoding: 'buffer', maxBuffer: 16 << 20, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
      (err, stdout, stderr) => resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? null, stdout, stderr: stderr.toString() }))
  })
}

/** Send `request` on a fresh connection to `port`; the first `n` bytes of the answer. */
async function answer (port: number, request: Buffer | string, n: number): Promise<Buffer> {
  const socket = connect({ host: '127.0.0.1', port })
  socket.on('error', () => {})
  try {
    await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
    const reader = new SocketReader(socket)
    socket.write(request)
    return await reader.read(n)
  } finally {
    socket.destroy()
  }
}

function socks4a (name: string, port: number, user = ''): Buffer {
  return Buffer.concat([Buffer.from([0x04, 0x01, port >>> 8, port & 0xff, 0, 0, 0, 1]), Buffer.from(user), Buffer.from([0]), Buffer.from(name), Buffer.from([0])])
}

t.test('curl --socks4a and --socks4 fetch intact bodies through the cascade', async (t) => {
  const viaA = await curl(['--socks4a', socks, `http://known.test:${target.port}/bytes/200000`])
  t.equal(viaA.code, 0, viaA.stderr)
  t.equal(sha256(viaA.stdout), sha256(patternBytes(200000)), 'SOCKS4a: the name resolved at the exit')
  const via4 = await curl(['--socks4', socks, `http://127.0.0.1:${target.port}/bytes/1000`])
  t.equal(via4.code, 0, via4.stderr)
  t.equal(sha256(via4.stdout), sha256(patternBytes(1000)), 'SOCKS4 with an address')
  t.ok((cascade.client.node.socksCounters.warnings.SOCKS_UNSAFE_IP_LITERAL ?? 0) >= 1, 'SOCKS4 with an address is counted as unsafe')
})

t.test('curl --proxytunnel -x http://… fetches intact bodies, and uploads', async (t) => {
  const got = await curl(['--proxytunnel', '-x', http, `http://known.test:${target.port}/bytes/300000`])
  t.equal(got.code, 0, got.stderr)
  t.equal(sha256(got.stdout), sha256(patternBytes(300000)))
  const upload = patternBytes(100_000, 3)
  const posted = await new Promise<Run>((resolve) => {
    const child = execFile('curl', ['-q', '-sS', '--max-time', '20', '--proxytunnel', '-x', http, '--data-binary', '@-', `http://127.0.0.1:${target.port}/up`],
      { encoding: 'buffer' }, (err, stdout, stderr) => resolve({ code: err === null ? 0 : 1, stdout, stderr: stderr.toString() }))
    child.stdin!.end(upload)
  })
  t.equal(posted.stdout.toString(), sha256(upload), 'the upload arrives intact')
})

t.test('undici ProxyAgent: several fetches at once through the HTTP door', async (t) => {
  const agent = new ProxyAgent({ uri: http, proxyTunnel: true })
  t.teardown(() => agent.close())
  const sizes = [1, 65536, 500_000]
  const bodies = await Promise.all(sizes.map(async (size) => {
    const response = await fetch(`http://localhost:${target.port}/bytes/${size}`, { dispatcher: agent })
    t.equal(response.status, 200)
    return Buffer.from(await response.arrayBuffer())
  }))
  bodies.forEach((body, i) => t.equal(sha256(body), sha256(patternBytes(sizes[i]!)), `${sizes[i]} bytes intact`))
})

t.test('SOCKS4: success is 0x5A, every failure 0x5B (policy, closed port, unknown name)', async (t) => {
  const granted = Buffer.from([0, 0x5a, 0, 0, 0, 0, 0, 0])
  const rejected = Buffer.from([0, 0x5b, 0, 0, 0, 0, 0, 0])
  const port = cascade.socksPort
  t.same(await answer(port, socks4a('known.test', target.port), 8), granted, 'success')
  t.same(await answer(port, Buffer.from([0x04, 0x01, 0, 80, 10, 1, 2, 3, 0]), 8), rejected, 'a private range: the exit policy')
  t.same(await answer(port, socks4a('127.0.0.1', closed), 8), rejected, 'a closed port')
  t.same(await answer(port, socks4a('no-such-name.test', 80), 8), rejected, 'a name the exit cannot resolve')
  const result = await curl(['--socks4a', socks, `http://127.0.0.2:${target.port}/`])
  t.not(result.code, 0, 'curl --socks4a fails on a refusal')
  t.match(result.stderr, /SOCKS4|rejected|request/i, 'and says the SOCKS4 request was refused')
})

t.test('HTTP CONNECT: 200 on success; 403 for the policy, 502 for a closed port and an unknown name', async (t) => {
  const port = cascade.client.http!.port
  const statusOf = async (authority: string): Promise<string> =>
    (await answer(port, `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`, 12)).toString()
  t.equal(await statusOf(`known.test:${target.port}`), 'HTTP/1.0 200', 'success')
  t.equal(await statusOf(`127.0.0.2:${target.port}`), 'HTTP/1.0 403', 'loopback not opened by the operator')
  t.equal(await statusOf('10.1.2.3:80'), 'HTTP/1.0 403', 'a private range')
  t.equal(await statusOf(`127.0.0.1:${closed}`), 'HTTP/1.0 502', 'a closed port')
  t.equal(await statusOf('no-such-name.test:80'), 'HTTP/1.0 502', 'a name the exit cannot resolve')
  t.equal(await statusOf(`127.0.0.1:${cascade.cascade.hops[1]!.address.port}`), 'HTTP/1.0 403', 'a cascade node\'s own port')
  t.equal((await answer(port, `GET http://known.test:${target.port}/ HTTP/1.1\r\n\r\n`, 12)).toString(), 'HTTP/1.0 405', 'a plain proxy GET')
  const before = target.requests.length
  const refused = await curl(['--proxytunnel', '-x', http, `http://127.0.0.2:${target.port}/`])
  t.not(refused.code, 0, 'curl fails on a refusal')
  t.match(refused.stderr, /403/, 'and names the status')
  const closedRun = await curl(['--proxytunnel', '-x', http, `http://127.0.0.1:${closed}/`])
  t.match(closedRun.stderr, /502/, 'a closed port: 502')
  t.equal(target.requests.length, before, 'nothing reached the server')
})

t.test('undici ProxyAgent sees the refusal status as an error, not a response', async (t) => {
  const agent = new ProxyAgent({ uri: http, proxyTunnel: true })
  t.teardown(() => agent.close())
  /** Every message down the cause chain (fetch → DOMException → undici's RequestAbortedError). */
  const causes = async (url: string): Promise<string> => {
    const failure = await fetch(url, { dispatcher: agent }).then(() => undefined, (e: unknown) => e)
    const messages: string[] = []
    for (let e = failure as { message?: string, cause?: unknown } | undefined; e !== undefined; e = e.cause as typeof e) messages.push(String(e.message))
    return messages.join(' / ')
  }
  t.match(await causes(`http://127.0.0.2:${target.port}/`), /Proxy response \(403\)/, 'a policy refusal: 403')
  t.match(await causes(`http://127.0.0.1:${closed}/`), /Proxy response \(502\)/, 'a closed port: 502')
  t.match(await causes('http://no-such-name.test/'), /Proxy response \(502\)/, 'an unknown name: 502')
})

t.test('credentials choose the circuit on every door: SOCKS4 user ID, Basic Proxy-Authorization', async (t) => {
  const built = (): number => cascade.client.node.stats.circuitsBuilt
  const base = built()
  const a1 = await curl(['--proxytunnel', '-x', http, '--proxy-user', 'site-a:x', `http://known.test:${target.port}/bytes/10`])
  t.equal(a1.code, 0, a1.stderr)
  const afterA = built()
  const a2 = await curl(['--proxytunnel', '-x', http, '--proxy-user', 'site-a:x', `http://known.test:${target.port}/bytes/10`])
  t.equal(a2.code, 0)
  t.equal(built(), afterA, 'the same credentials reuse the circuit')
  const b = await curl(['--proxytunnel', '-x', http, '--proxy-user', 'site-b:x', `http://known.test:${target.port}/bytes/10`])
  t.equal(b.code, 0)
  t.ok(built() > afterA, 'other credentials get another circuit')
  t.ok(afterA >= base)
  const beforeS4 = built()
  t.same(await answer(cascade.socksPort, socks4a('known.test', target.port, 'site-c'), 8), Buffer.from([0, 0x5a, 0, 0, 0, 0, 0, 0]))
  t.ok(built() > beforeS4, 'a new SOCKS4 user ID gets another circuit')
})
