/**
 * Logs are safe by default (DESIGN goal 7, R19): a whole cascade logging at info level —
 * through successes, refusals, a bad name, junk on a port and a broken link — writes no
 * destination host or port, no client address or port, and no key material, in hex or
 * base64, in any line.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { cryptoReady, randomBytes } from '../../src/crypto/index.js'
import { startCascade, memoryLogger } from '../helpers/cascade.js'
import { startDnsServer } from '../exit/helpers/dns-server.js'
import { openSocket, rawConnect } from '../helpers/raw-socks.js'
import { closedPort, startHttpTarget } from '../helpers/targets.js'

await cryptoReady()
const run = promisify(execFile)

const HOST = 'secret-destination-4f2a.test'
const dns = await startDnsServer({ [HOST]: { a: ['127.0.0.1'] } })
t.teardown(() => dns.close())
const http = await startHttpTarget(t)
const { logger, lines } = memoryLogger('cascade', 'info')
const cascade = await startCascade({ logger, dnsServers: [dns.server] })
t.teardown(() => cascade.stop())
const PATH = '/unique-path-7c1e'

const appPorts: number[] = []

t.test('traffic of every kind through a cascade logging at info level', async (t) => {
  const { stdout } = await run('curl', ['-sS', '--max-time', '20', '--socks5-hostname', `127.0.0.1:${cascade.socksPort}`, `http://${HOST}:${http.port}${PATH}`])
  t.equal(stdout, `hello ${PATH}\n`, 'curl fetched through the named host')
  for (const [host, port, rep] of [[HOST, http.port, 0], ['127.0.0.2', http.port, 2], [HOST, await closedPort(), 5], ['nx-' + HOST, 80, 4]] as const) {
    const connection = await rawConnect({ socksPort: cascade.socksPort, host, port, username: 'user-9d3b', password: 'pw-5e8a' })
    appPorts.push(connection.socket.localPort!)
    t.equal(connection.rep, rep)
    connection.socket.destroy()
  }
  // Junk on the SOCKS port and on mix 1's link port (each logged as a refusal).
  const junk = await openSocket(cascade.socksPort)
  appPorts.push(junk.localPort!)
  junk.end(Buffer.from([0x04, 0x01, 0x00, 0x50]))
  const linkJunk = await openSocket(cascade.cascade.hops[0]!.address.port)
  linkJunk.end(randomBytes(100))
  await new Promise<void>((resolve) => { linkJunk.on('close', () => resolve()); linkJunk.resume() })
  junk.destroy()
  // A broken link (mix 3 stops and comes back) logs warnings at mix 2, mix 1 and the client.
  await cascade.stopMix(3)
  await cascade.startMix(3)
  t.ok(lines.length > 0, `the cascade wrote ${lines.length} lines at info level and above`)
  t.ok(lines.some((line) => / warn /.test(line)), 'including warnings')
  t.notOk(lines.some((line) => / debug /.test(line)), 'and no debug line')
})

t.test('no line holds a destination, a client address, a credential or a key', async (t) => {
  const forbidden: [string, RegExp][] = [
    ['the destination name', new RegExp(HOST.replace(/\./g, '\\.'), 'i')],
    ['the destination port', new RegExp(`\\b${http.port}\\b`)],
    ['the URL path', new RegExp(PATH)],
    ['any loopback address', /127\.0\.0\.\d|::1\b|localhost/],
    ['SOCKS credentials', /user-9d3b|pw-5e8a/],
  ]
  for (const port of appPorts) forbidden.push([`an app's source port (${port})`, new RegExp(`\\b${port}\\b`)])
  const keyBytes: Uint8Array[] = [cascade.cascade.id]
  for (const { link, onion } of cascade.keys) {
    keyBytes.push(link.publicKey, link.secretKey)
    for (const key of onion.accepted()) keyBytes.push(key.keyPair.publicKey, key.keyPair.secretKey)
  }
  for (const key of keyBytes) {
    const hex = Buffer.from(key).toString('hex')
    // Any 16 hex digits of a key (case-insensitive) is already too much.
    forbidden.push(['key bytes in hex', new RegExp(hex.slice(0, 16), 'i')], ['key bytes in hex', new RegExp(hex.slice(-16), 'i')])
    forbidden.push(['key bytes in base64', new RegExp(Buffer.from(key).toString('base64').slice(0, 16).replace(/[+/]/g, '\\$&'))])
  }
  for (const [what, pattern] of forbidden) {
    const leaks = lines.filter((line) => pattern.test(line))
    t.same(leaks, [], `no ${what}`)
  }
})
