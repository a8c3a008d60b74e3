/**
 * Unshaped release on arrival (docs/PROTOCOL.md §11.1 "Release on arrival") on a real
 * loopback cascade of three mixes and the exit, shaping off, curl as the client:
 *   - where a direction has one neighbour it releases as that neighbour's round write has all
 *     arrived: the middle mixes forward, every mix backward;
 *   - where cells of many sources meet, the deadline alone: the entry forward (its clients'
 *     links), the exit backward (its TCP streams);
 *   - what crosses the cascade arrives whole, and a deadline after a release on arrival is
 *     no release of its own.
 */
import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { cryptoReady } from '../../src/crypto/index.js'
import type { HopStats } from '../../src/hop/hop-stats.js'
import { startCascade } from '../helpers/cascade.js'

await cryptoReady()
const run = promisify(execFile)

const body = randomBytes(512 * 1024 + 3)
const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex')
const server: Server = createServer((_req, res) => { res.setHeader('content-length', body.length); res.end(body) })
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
const httpPort = (server.address() as { port: number }).port
t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))

t.test('shaping off: a direction with one neighbour releases on its writes, the entry forward and the exit backward keep their deadlines', async (t) => {
  const cascade = await startCascade({ mixes: 3, roundMs: 10 })
  t.teardown(() => cascade.stop())
  const [entry, second, third] = cascade.mixes.map((mix) => mix.node.stats) as [HopStats, HopStats, HopStats]
  const exit = cascade.exit.node.stats

  const { stdout } = await run('curl', ['-sS', '--max-time', '30', '--socks5-hostname', `127.0.0.1:${cascade.socksPort}`, `http://127.0.0.1:${httpPort}/`],
    { encoding: 'buffer', maxBuffer: 4 * 1024 * 1024 })
  t.equal(sha(stdout), sha(body), 'the download arrived whole')

  t.equal(entry.releasesOnArrivalForward, 0, 'the entry forward: its clients\' links meet there, the deadline alone')
  t.ok(second.releasesOnArrivalForward > 0, `the second mix forward: on the entry's writes (${second.releasesOnArrivalForward})`)
  t.ok(third.releasesOnArrivalForward > 0, `the third mix forward: on the second's writes (${third.releasesOnArrivalForward})`)
  t.equal(exit.releasesOnArrivalBackward, 0, 'the exit backward: its streams meet there, the deadline alone')
  for (const [name, stats] of [['entry', entry], ['second', second], ['third', third]] as const) {
    t.ok(stats.releasesOnArrivalBackward > 0, `the ${name} mix backward: on its successor's writes (${stats.releasesOnArrivalBackward})`)
  }
  // A deadline after a release on arrival sends only what came since: it is no release of its own.
  t.ok(second.releasesAtDeadlineForward < second.rounds, `a round released on arrival is not released again at its deadline (${second.releasesAtDeadlineForward} of ${second.rounds} rounds)`)
})
