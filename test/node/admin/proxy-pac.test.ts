/**
 * `/proxy.pac` (issue #15 item 5): the file parses as JavaScript, and FindProxyForURL,
 * evaluated in a `node:vm` context with nothing in it (no PAC helpers needed), sends every
 * URL to the SOCKS5 port and never DIRECT; with an HTTP CONNECT door, https: and wss: URLs
 * get it as the second entry and nothing else does. No SOCKS4 entry (proxy-pac.ts says why).
 * A client's admin port serves it with the PAC content type.
 */
import t, { type Test } from 'tap'
import { Client, request } from 'undici'
import { ClientStats } from '../../../src/client/client-node.js'
import { createLogger } from '../../../src/base/logger.js'
import { startNodeAdmin } from '../../../src/node/admin/node-admin.js'
import { PAC_CONTENT_TYPE, proxyPac, type PacDoors } from '../../../src/node/admin/proxy-pac.js'
import { findProxy } from '../../helpers/pac.js'

const URLS: Array<[string, string]> = [
  ['http://example.org/', 'example.org'],
  ['https://example.org/', 'example.org'],
  ['HTTPS://example.org/', 'example.org'],
  ['ws://example.org/chat', 'example.org'],
  ['wss://example.org/chat', 'example.org'],
  ['ftp://example.org/file', 'example.org'],
  ['http://127.0.0.1:8080/', '127.0.0.1'],
  ['http://intranet/', 'intranet'],
]

function answers (doors: PacDoors): Map<string, unknown> {
  const find = findProxy(proxyPac(doors))
  return new Map(URLS.map(([url, host]) => [url, find(url, host)]))
}

t.test('every URL goes to the SOCKS5 port, never DIRECT and never SOCKS4', async (t) => {
  const pac = proxyPac({ socks: { host: '127.0.0.1', port: 1080 } })
  t.notMatch(pac, /DIRECT/)
  for (const [url, result] of answers({ socks: { host: '127.0.0.1', port: 1080 } })) t.equal(result, 'SOCKS5 127.0.0.1:1080', url)
})

t.test('with an HTTP CONNECT door, only https: and wss: get it as the second entry', async (t) => {
  const doors = { socks: { host: '127.0.0.1', port: 1080 }, http: { host: '127.0.0.1', port: 8118 } }
  t.notMatch(proxyPac(doors), /DIRECT/)
  for (const [url, result] of answers(doors)) {
    const tunnelled = /^(https|wss):/i.test(url)
    t.equal(result, tunnelled ? 'SOCKS5 127.0.0.1:1080; PROXY 127.0.0.1:8118' : 'SOCKS5 127.0.0.1:1080', url)
  }
})

t.test('IPv6 doors are bracketed; unspecified bind addresses become loopback', async (t) => {
  const find6 = findProxy(proxyPac({ socks: { host: '::1', port: 1080 }, http: { host: '::', port: 8118 } }))
  t.equal(find6('https://example.org/', 'example.org'), 'SOCKS5 [::1]:1080; PROXY [::1]:8118')
  t.equal(findProxy(proxyPac({ socks: { host: '0.0.0.0', port: 1080 } }))('http://a/', 'a'), 'SOCKS5 127.0.0.1:1080')
})

async function get (t: Test, base: string, path: string) {
  const client = new Client(base)
  t.teardown(() => client.destroy())
  const response = await request(base + path, { dispatcher: client })
  return { status: response.statusCode, type: String(response.headers['content-type']), text: await response.body.text() }
}

t.test('a client\'s admin port serves it with the PAC content type', async (t) => {
  const socks = { connections: 0, pending: 0, accepted: 0, rejected: {}, errors: {}, warnings: {} }
  const admin = await startNodeAdmin({
    role: 'client',
    node: { stats: new ClientStats(), entryUp: true, socksCounters: socks },
    address: { host: '127.0.0.1', port: 0 },
    doors: { socks: { host: '127.0.0.1', port: 41080 } },
    logger: createLogger({ role: 'test', level: 'error' }),
  })
  t.teardown(() => admin.close())
  const pac = await get(t, admin.url, '/proxy.pac')
  t.equal(pac.status, 200)
  t.equal(pac.type, PAC_CONTENT_TYPE)
  t.equal(findProxy(pac.text)('https://example.org/', 'example.org'), 'SOCKS5 127.0.0.1:41080')
  t.match((await get(t, admin.url, '/')).text, /<a href="\/proxy.pac">/, 'the page links to it')
})
