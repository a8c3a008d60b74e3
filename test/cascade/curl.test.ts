/**
 * End to end with a real client: curl through a loopback cascade of 3 mixes and an exit.
 */
import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cryptoReady } from '../../src/crypto/index.js'
import { startCascade } from '../helpers/cascade.js'

await cryptoReady()
const run = promisify(execFile)

const body = randomBytes(3 * 1024 * 1024 + 17)
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

const server: Server = createServer((req, res) => {
  if (req.url === '/big') { res.setHeader('content-length', body.length); res.end(body); return }
  if (req.method === 'POST') {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => res.end(sha(Buffer.concat(chunks))))
    return
  }
  res.end('hello through the cascade\n')
})
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
const httpPort = (server.address() as { port: number }).port
t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))

const cascade = await startCascade()
t.teardown(() => cascade.stop())

t.test('curl --socks5-hostname fetches a small page through the cascade', async (t) => {
  const { stdout } = await run('curl', ['-sS', '--max-time', '20', '--socks5-hostname', `127.0.0.1:${cascade.socksPort}`, `http://localhost:${httpPort}/`])
  t.equal(stdout, 'hello through the cascade\n')
})

t.test('a 3 MiB download arrives intact (SHA-256 end to end)', async (t) => {
  const { stdout } = await run('curl', ['-sS', '--max-time', '60', '--socks5-hostname', `127.0.0.1:${cascade.socksPort}`, `http://127.0.0.1:${httpPort}/big`], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 })
  t.equal(stdout.length, body.length)
  t.equal(sha(stdout), sha(body))
})

t.test('a 2 MiB upload arrives intact', async (t) => {
  const upload = randomBytes(2 * 1024 * 1024)
  const dir = mkdtempSync(join(tmpdir(), 'mixgate-upload-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'up.bin'), upload)
  const { stdout } = await run('curl', ['-sS', '--max-time', '60', '--socks5-hostname', `127.0.0.1:${cascade.socksPort}`,
    '--data-binary', `@${join(dir, 'up.bin')}`, `http://127.0.0.1:${httpPort}/up`])
  t.equal(stdout, sha(upload))
})

t.test('every mix saw circuits and shuffled rounds; nothing failed authentication', async (t) => {
  for (const mix of cascade.mixes) {
    t.ok(mix.node.stats.createsAccepted >= 1, 'a CREATE was accepted')
    t.equal(mix.node.stats.relayAuthFailures, 0)
    t.ok(mix.node.stats.rounds > 0)
  }
  t.ok(cascade.exit.node.exitStats.streamsOpened >= 3)
  t.equal(cascade.client.node.stats.integrityFailures, 0)
})
