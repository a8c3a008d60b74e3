/**
 * Every door of `mixgate up` as a user runs it (a child process, one mix and an exit):
 * --http prints the HTTP CONNECT port between the SOCKS line and the example; curl
 * --socks4a, curl --proxytunnel -x http://… and undici's ProxyAgent fetch intact bodies; a
 * policy refusal, a closed port and an unknown name are mapped on each door (SOCKS5 REP
 * 2/5/4, SOCKS4 0x5B, HTTP 403/502/502). The unknown name is one the exit refuses without a
 * query (`bad..name`), so nothing leaves loopback.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { ProxyAgent, fetch } from 'undici'
import { closedPort } from '../helpers/targets.js'
import { rawConnect } from '../helpers/raw-socks.js'
import { runCli, startCli } from './spawn-cli.js'
import { startHttpServer } from './http-fixture.js'

interface Run { code: number | null, stdout: Buffer, stderr: string }
async function curl (args: string[]): Promise<Run> {
  return await new Promise((resolve) => {
    execFile('curl', ['-q', '-sS', '--max-time', '20', ...args], { encoding: 'buffer', maxBuffer: 16 << 20, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
      (err, stdout, stderr) => resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? null, stdout, stderr: stderr.toString() }))
  })
}

const server = await startHttpServer(t)
const closed = await closedPort()
// Shaping off: the doors do not depend on it, and on a loaded machine a shaped client may
// miss loop deadlines, count alarms and fail closed (REP 1 / 502 for every new stream).
const up = startCli(t, ['up', '--socks', '127.0.0.1:0', '--http', '127.0.0.1:0', '--mixes', '1', '--shaping', 'off', '--exit-policy', 'accept 127.0.0.1:*', '--log-level', 'warn'])
t.teardown(async () => { await up.stop('SIGTERM') })
await up.waitForStdout(/try: .*\n/, 30_000)
const lines = up.stdout().split('\n')
const socksAddress = /^mixgate: SOCKS5 proxy listening on (127\.0\.0\.1:\d+) /.exec(lines[0]!)![1]!
const httpMatch = /^mixgate: HTTP CONNECT proxy listening on (127\.0\.0\.1:(\d+))$/.exec(lines[1]!)
const proxy = `http://${httpMatch?.[1] ?? ''}`

t.test('up --http prints the HTTP CONNECT port on its own line, before the example', async (t) => {
  t.ok(httpMatch, 'the second line names the HTTP CONNECT port')
  t.not(httpMatch![2], '0', 'with the real port')
  t.match(lines[2], /^mixgate: admin http:/)
  t.match(lines[3], /^expect: /)
  t.match(lines[4], /^try: curl --socks5-hostname /)
  t.equal(lines.length, 6, 'five lines and nothing else')
})

t.test('curl --socks4a, curl --proxytunnel and undici ProxyAgent carry a body intact', async (t) => {
  const url = `http://localhost:${server.port}/body`
  const viaSocks4a = await curl(['--fail', '--socks4a', socksAddress, url])
  t.equal(viaSocks4a.code, 0, `${viaSocks4a.stderr}; up logged: ${up.stderr()}`)
  t.ok(viaSocks4a.stdout.equals(server.body), 'SOCKS4a')
  const viaTunnel = await curl(['--fail', '--proxytunnel', '-x', proxy, url])
  t.equal(viaTunnel.code, 0, `${viaTunnel.stderr}; up logged: ${up.stderr()}`)
  t.ok(viaTunnel.stdout.equals(server.body), 'HTTP CONNECT')
  const agent = new ProxyAgent({ uri: proxy, proxyTunnel: true })
  t.teardown(() => agent.close())
  const response = await fetch(url, { dispatcher: agent })
  t.equal(response.status, 200)
  t.ok(Buffer.from(await response.arrayBuffer()).equals(server.body), 'undici ProxyAgent')
})

t.test('policy refusal, closed port, unknown name: mapped on each door', async (t) => {
  const socksPort = Number(socksAddress.split(':')[1])
  const cases: Array<[string, string, number, number, number]> = [
    ['a policy refusal', '127.0.0.2', server.port, 0x02, 403],
    ['a closed port', '127.0.0.1', closed, 0x05, 502],
    ['an unknown name', 'bad..name', 80, 0x04, 502],
  ]
  const agent = new ProxyAgent({ uri: proxy, proxyTunnel: true })
  t.teardown(() => agent.close())
  for (const [what, host, port, rep, status] of cases) {
    const five = await rawConnect({ socksPort, host, port })
    five.socket.destroy()
    t.equal(five.rep, rep, `${what}: SOCKS5 REP ${rep}`)
    const four = await curl(['--socks4a', socksAddress, `http://${host}:${port}/`])
    t.match(four.stderr, /SOCKS4/i, `${what}: curl --socks4a reports the SOCKS4 rejection`)
    const tunnel = await curl(['--proxytunnel', '-x', proxy, `http://${host}:${port}/`])
    t.match(tunnel.stderr, new RegExp(`\\b${status}\\b`), `${what}: curl --proxytunnel reports ${status}`)
    const failure = await fetch(`http://${host}:${port}/`, { dispatcher: agent }).then(() => undefined, (e: unknown) => e)
    const messages: string[] = []
    for (let e = failure as { message?: string, cause?: unknown } | undefined; e !== undefined; e = e.cause as typeof e) messages.push(String(e.message))
    t.match(messages.join(' / '), `Proxy response (${status})`, `${what}: undici sees ${status}`)
  }
})

t.test('an HTTP port already in use: status 1, the address and the reason on standard error', async (t) => {
  const { code, stdout, stderr } = await runCli(['up', '--socks', '127.0.0.1:0', '--http', `127.0.0.1:${server.port}`, '--mixes', '1', '--log-level', 'error'])
  t.equal(code, 1)
  t.equal(stdout, '', 'no ready line')
  t.equal(stderr, `mixgate: cannot listen for HTTP CONNECT requests on 127.0.0.1:${server.port}: the address is already in use (EADDRINUSE)\n`)
})
