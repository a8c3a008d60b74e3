/**
 * undici's SOCKS5 client (undici 7 exports `Socks5ProxyAgent`, a dispatcher for its fetch)
 * through a whole loopback cascade: bodies arrive intact, alone and several at once.
 */
import t from 'tap'
import { Socks5ProxyAgent, fetch } from 'undici'
import { cryptoReady } from '../../src/crypto/index.js'
import { startCascade } from '../helpers/cascade.js'
import { patternBytes, sha256, startHttpTarget } from '../helpers/targets.js'

await cryptoReady()

const target = await startHttpTarget(t)
const cascade = await startCascade()
t.teardown(() => cascade.stop())
const agent = new Socks5ProxyAgent(`socks5://127.0.0.1:${cascade.socksPort}`)
t.teardown(() => agent.destroy())

t.test('one fetch through the cascade: status and body intact', async (t) => {
  const response = await fetch(`http://localhost:${target.port}/bytes/300000`, { dispatcher: agent })
  t.equal(response.status, 200)
  const body = Buffer.from(await response.arrayBuffer())
  t.equal(body.length, 300000)
  t.equal(sha256(body), sha256(patternBytes(300000)), 'SHA-256 matches')
})

t.test('six parallel fetches (two hosts, different sizes) all arrive intact', async (t) => {
  const sizes = [1, 1000, 65536, 200_000, 777_777, 1_500_000]
  const results = await Promise.all(sizes.map(async (size, i) => {
    const host = i % 2 === 0 ? 'localhost' : '127.0.0.1'
    const response = await fetch(`http://${host}:${target.port}/bytes/${size}`, { dispatcher: agent })
    return { status: response.status, body: Buffer.from(await response.arrayBuffer()) }
  }))
  results.forEach((result, i) => {
    t.equal(result.status, 200)
    t.equal(sha256(result.body), sha256(patternBytes(sizes[i]!)), `body of ${sizes[i]} bytes intact`)
  })
  t.equal(cascade.client.node.stats.integrityFailures, 0)
  for (const mix of cascade.mixes) t.equal(mix.node.stats.relayAuthFailures, 0)
})

t.test('a POST body goes up intact', async (t) => {
  const upload = patternBytes(400_000, 7)
  const response = await fetch(`http://127.0.0.1:${target.port}/up`, { method: 'POST', body: upload, dispatcher: agent })
  t.equal(await response.text(), sha256(upload))
})
