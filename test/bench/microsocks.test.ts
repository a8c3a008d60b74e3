/**
 * The microsocks baseline (bench/microsocks.ts): when Debian's package is installed it starts
 * on a loopback port that accepts a SOCKS5 greeting, and stop() ends the process; when it is
 * not, startMicrosocks says so with undefined.
 */
import t from 'tap'
import { existsSync } from 'node:fs'
import { connect } from 'node:net'
import { MICROSOCKS, startMicrosocks } from '../../bench/microsocks.js'

t.test('microsocks starts on loopback, answers a greeting and stops', async (t) => {
  const proxy = await startMicrosocks()
  if (!existsSync(MICROSOCKS)) {
    t.equal(proxy, undefined, 'not installed: no baseline')
    return
  }
  t.ok(proxy !== undefined)
  const reply = await new Promise<Buffer>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: proxy!.port }, () => socket.write(Buffer.from([5, 1, 0])))
    socket.once('data', (data) => { socket.destroy(); resolve(data) })
    socket.once('error', reject)
  })
  t.same([...reply], [5, 0], 'SOCKS5, no authentication')
  await proxy!.stop()
  t.throws(() => process.kill(proxy!.pid, 0), 'the process is gone')
})
