/**
 * A whole link failing ends every circuit on it alike (DESIGN goal 3): when mix 2 stops,
 * mix 1 loses its successor, ends all its circuits and closes its client links, so every
 * app stream fails at once and the client's entry link is closed — nobody is singled out.
 * When mix 2 comes back (same keys, same port), mix 1 and the client reconnect on their
 * own and new streams work.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { cryptoReady } from '../../src/crypto/index.js'
import { startCascade, waitFor } from '../helpers/cascade.js'
import { rawConnect } from '../helpers/raw-socks.js'
import { startHttpTarget, startTcpTarget } from '../helpers/targets.js'

await cryptoReady()
const run = promisify(execFile)

const http = await startHttpTarget(t)
const echo = await startTcpTarget(t, (socket) => socket.pipe(socket))
const cascade = await startCascade()
t.teardown(() => cascade.stop())
const client = cascade.client.node

async function curl (path: string): Promise<string> {
  const { stdout } = await run('curl', ['-sS', '--max-time', '20', '--socks5-hostname', `127.0.0.1:${cascade.socksPort}`, `http://localhost:${http.port}${path}`])
  return stdout
}

t.test('stopping mix 2 ends every stream alike and closes the client\'s entry link; a restart heals', async (t) => {
  // Two open streams on two isolated circuits, both working.
  const streams = await Promise.all(['a', 'b'].map(async (user) => {
    const connection = await rawConnect({ socksPort: cascade.socksPort, host: '127.0.0.1', port: echo.port, username: user, password: 'x' })
    t.teardown(() => connection.socket.destroy())
    t.equal(connection.rep, 0)
    connection.socket.write(`ping ${user}`)
    t.equal((await connection.reader.read(6)).toString(), `ping ${user}`, `stream ${user} echoes`)
    return connection
  }))
  t.equal(client.stats.circuitsActive, 2)
  const mix1 = cascade.mixes[0]!.node
  const entryFailures = client.stats.entryFailures
  const linksClosed = mix1.stats.linksClosed

  await cascade.stopMix(2)
  // Every app stream ends, whichever circuit it was on.
  await Promise.all(streams.map(async ({ reader }) => await reader.readToEnd()))
  for (const { socket } of streams) t.ok(socket.destroyed || socket.readableEnded, 'the app\'s stream was closed')
  await waitFor(() => client.stats.entryFailures > entryFailures, 'the client to lose its entry link')
  t.ok(mix1.stats.linksClosed > linksClosed, 'mix 1 closed its client link')
  t.equal(mix1.circuits, 0, 'mix 1 holds no circuit')
  t.equal(client.stats.circuitsActive, 0, 'the client holds no circuit')
  t.equal(client.stats.alarms, 0, 'a link failure is not an anomaly of one circuit: no alarm')

  // While mix 2 is down a new stream fails with REP 0x01: refused at once if the entry link is
  // down, or ended with its circuit when mix 1 (no successor) closes the client's new link.
  const down = await rawConnect({ socksPort: cascade.socksPort, host: '127.0.0.1', port: echo.port })
  down.socket.destroy()
  t.equal(down.rep, 0x01, 'general failure while the cascade is broken')

  await cascade.startMix(2)
  await waitFor(() => mix1.successorUp, 'mix 1 to reach the new mix 2', 15_000)
  await waitFor(() => client.entryUp, 'the client to reconnect', 15_000)
  // The client may connect a moment before mix 1 accepts circuits again: retry curl a few times.
  let body = ''
  for (let attempt = 0; attempt < 20 && body === ''; attempt++) {
    body = await curl('/after-restart').catch(() => '')
    if (body === '') await new Promise((resolve) => setTimeout(resolve, 200))
  }
  t.equal(body, 'hello /after-restart\n', 'a new curl succeeds through the restarted cascade')
  t.ok(client.stats.entryConnects >= 2, 'the client reconnected on its own')
})
