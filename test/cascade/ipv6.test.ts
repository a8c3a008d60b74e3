/**
 * IPv6 through the cascade: an IPv6-literal BEGIN ([::1]) and hostname BEGINs that resolve
 * to ::1 at the exit are refused by a policy that opens only 127.0.0.1 (REP 0x02) and carried
 * when the operator opens [::1] — to the checked literal only. Skipped where ::1 is missing.
 */
import t from 'tap'
import { createServer } from 'node:net'
import { cryptoReady } from '../../src/crypto/index.js'
import { startCascade, type TestCascade } from '../helpers/cascade.js'
import { startDnsServer } from '../exit/helpers/dns-server.js'
import { rawConnect } from '../helpers/raw-socks.js'
import { startHttpTarget } from '../helpers/targets.js'

await cryptoReady()

async function ipv6LoopbackWorks (): Promise<boolean> {
  return await new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(0, '::1', () => server.close(() => resolve(true)))
  })
}

if (!(await ipv6LoopbackWorks())) {
  t.test('IPv6 through the cascade', { skip: 'IPv6 loopback (::1) is not available on this machine' }, async () => {})
} else {
  const http = await startHttpTarget(t, '::1')
  const dns = await startDnsServer({ 'six.test': { aaaa: ['::1'] }, 'dual.test': { a: ['127.0.0.1'], aaaa: ['::1'] } })
  t.teardown(() => dns.close())
  const v4Only = await startCascade({ exitPolicy: ['accept 127.0.0.1:*'], dnsServers: [dns.server] })
  t.teardown(() => v4Only.stop())
  const v6Open = await startCascade({ exitPolicy: ['accept [::1]:*'], dnsServers: [dns.server] })
  t.teardown(() => v6Open.stop())

  /** CONNECT with a request as optimistic data; returns REP and the response body ('' if refused). */
  async function fetchVia (cascade: TestCascade, host: string, path: string): Promise<{ rep: number, body: string }> {
    const request = Buffer.from(`GET ${path} HTTP/1.0\r\nHost: x\r\n\r\n`)
    const { socket, reader, rep } = await rawConnect({ socksPort: cascade.socksPort, host, port: http.port, early: request })
    try {
      if (rep !== 0) return { rep, body: '' }
      const response = (await reader.readToEnd()).toString()
      return { rep, body: response.slice(response.indexOf('\r\n\r\n') + 4) }
    } finally {
      socket.destroy()
    }
  }

  t.test('a policy opening only 127.0.0.1 refuses IPv6 loopback in every form: REP 0x02', async (t) => {
    t.same(await fetchVia(v4Only, '::1', '/literal'), { rep: 0x02, body: '' }, 'IPv6 literal BEGIN [::1]')
    t.same(await fetchVia(v4Only, 'six.test', '/name'), { rep: 0x02, body: '' }, 'a name whose only address is ::1')
    t.same(http.requests, [], 'nothing reached the server')
  })

  t.test('with `accept [::1]:*` the same requests are carried', async (t) => {
    t.same(await fetchVia(v6Open, '::1', '/literal'), { rep: 0, body: 'hello /literal\n' }, 'IPv6 literal BEGIN [::1]')
    t.same(await fetchVia(v6Open, '0:0:0:0:0:0:0:1', '/long-form'), { rep: 0, body: 'hello /long-form\n' }, 'the uncompressed form')
    t.same(await fetchVia(v6Open, 'six.test', '/name'), { rep: 0, body: 'hello /name\n' }, 'a name resolved (AAAA) at the exit')
  })

  t.test('a name with both families connects only to the address the policy opened', async (t) => {
    // dual.test → 127.0.0.1 and ::1; only ::1 is opened (and only ::1 has the server).
    t.same(await fetchVia(v6Open, 'dual.test', '/dual'), { rep: 0, body: 'hello /dual\n' })
    t.same(await fetchVia(v6Open, 'localhost', '/localhost'), { rep: 0, body: 'hello /localhost\n' }, 'localhost (127.0.0.1 and ::1 without a query)')
  })

  t.test('opening [::1] does not open 127.0.0.1', async (t) => {
    t.same(await fetchVia(v6Open, '127.0.0.1', '/v4'), { rep: 0x02, body: '' })
  })
}
