/**
 * The listener's bounds at its edge (limits.ts, admission.ts), over real loopback sockets:
 * a connection past the handshake cap, a source's link cap or a handshake rate is reset
 * before its handshake and counted by reason, while the links already open keep carrying
 * cells and other sources (other 127.0.0.0/8 addresses) are still served; the per-source
 * table empties again once everything has closed.
 */
import t from 'tap'
import { cryptoReady } from '../../src/crypto/index.js'
import { dialLink, LinkError, listenLinks, type Link } from '../../src/link/index.js'
import { acceptPredecessors } from '../../src/link/predecessor.js'
import { cell, cellNumber, closed, collect, dial, dialOptions, listen, peers, PROLOGUE, rawConnectFrom, rawHandshake, until, CELL } from './loopback.js'

await cryptoReady()

/** One cell each way: the link still works. */
async function stillCarries (dialled: Link, accepted: Link, n: number): Promise<boolean> {
  const there = collect(accepted, 1)
  dialled.send([cell(n)])
  const back = collect(dialled, 1)
  accepted.send([cell(n + 1)])
  return cellNumber((await there)[0]!) === n && cellNumber((await back)[0]!) === n + 1
}

/** 'resolved', or the LinkError code the promise rejected with. */
async function outcome (promise: Promise<Link>): Promise<string> {
  try {
    (await promise).close()
    return 'resolved'
  } catch (err) {
    return err instanceof LinkError ? err.code : String(err)
  }
}

t.test('handshake cap: a connection past `maxHandshakes` in progress is reset at once; the others and the open link go on', async (t) => {
  const p = peers('NK')
  const { listener, port, links } = await listen(t, p, { limits: { maxHandshakes: 2 } })
  const good = await dial(t, p, port)
  const served = await links.next()
  const silent = [await rawConnectFrom(t, port, '127.0.0.1'), await rawConnectFrom(t, port, '127.0.0.2')]
  await until(() => listener.handshakesInProgress === 2, 'two handshakes in progress')

  const extra = await rawConnectFrom(t, port, '127.0.0.3')
  await closed(extra)
  t.equal(listener.stats.refusedHandshakes, 1, 'counted as refused by the handshake cap')
  t.ok(silent.every((s) => !s.destroyed), 'the handshakes in progress are left alone')
  t.equal(listener.handshakesInProgress, 2)
  t.ok(await stillCarries(good, served, 10), 'the open link still carries cells both ways')

  silent[0]!.destroy()
  await until(() => listener.handshakesInProgress === 1, 'the closed handshake to be handed back')
  await rawConnectFrom(t, port, '127.0.0.3')
  await until(() => listener.handshakesInProgress === 2, 'a new handshake in the freed place')
  t.equal(listener.stats.refusedHandshakes, 1, 'nothing more refused')
})

t.test('per-source handshake cap: one source is refused, another is still admitted', async (t) => {
  const p = peers('KK')
  const { listener, port } = await listen(t, p, { limits: { maxHandshakesPerSource: 1 } })
  await rawConnectFrom(t, port, '127.0.0.1')
  await until(() => listener.handshakesInProgress === 1, 'the first handshake')
  await closed(await rawConnectFrom(t, port, '127.0.0.1'))
  t.equal(listener.stats.refusedHandshakesPerSource, 1)
  await rawConnectFrom(t, port, '127.0.0.2')
  await until(() => listener.handshakesInProgress === 2, 'the other source\'s handshake')
  t.equal(listener.stats.refusedHandshakes + listener.stats.refusedHandshakesPerSource, 1, 'only the one refusal')
})

t.test('per-source link cap: a third link from one source is refused, another source gets in, the two links keep working', async (t) => {
  const p = peers('NK')
  const { listener, port, links } = await listen(t, p, { limits: { maxLinksPerSource: 2 } })
  const first = await dial(t, p, port)
  const firstServed = await links.next()
  const second = await dial(t, p, port)
  const secondServed = await links.next()

  t.not(await outcome(dialLink(dialOptions(p, port))), 'resolved', 'the third dial from 127.0.0.1 fails')
  t.equal(listener.stats.refusedLinksPerSource, 1, 'counted as refused by the per-source link cap')
  t.equal(listener.stats.links, 2, 'no handshake was run for it')

  await rawHandshake(p, await rawConnectFrom(t, port, '127.0.0.2'))
  await links.next()
  t.equal(listener.openLinks, 3, 'another source still gets a link')
  t.ok(await stillCarries(first, firstServed, 20), 'the first link still carries cells')
  t.ok(await stillCarries(second, secondServed, 30), 'the second too')

  first.close()
  await until(() => listener.openLinks === 2, 'the closed link to be handed back')
  await dial(t, p, port)
  t.equal(listener.stats.refusedLinksPerSource, 1, 'once a link closed, the source may open another')
})

t.test('link cap: handshakes count as the links they may become', async (t) => {
  const p = peers('NK')
  const { listener, port } = await listen(t, p, { limits: { maxLinks: 2 } })
  await dial(t, p, port)
  await rawConnectFrom(t, port, '127.0.0.2')
  await until(() => listener.handshakesInProgress === 1, 'a handshake in progress')
  await closed(await rawConnectFrom(t, port, '127.0.0.3'))
  t.equal(listener.stats.refusedLinks, 1)
})

t.test('handshake rate: past a source\'s burst, then past the listener\'s, connections are reset; the link goes on', async (t) => {
  const p = peers('NK')
  // One token a second: the steps below take far less than a second on loopback.
  const { listener, port, links } = await listen(t, p, {
    limits: { handshakeRate: 1, handshakeBurst: 3, handshakeRatePerSource: 1, handshakeBurstPerSource: 2 },
  })
  const good = await dial(t, p, port) // tokens left: listener 2, 127.0.0.1 1
  const served = await links.next()
  await rawConnectFrom(t, port, '127.0.0.1') // listener 1, 127.0.0.1 0
  await until(() => listener.handshakesInProgress === 1, 'the second handshake of 127.0.0.1')
  await closed(await rawConnectFrom(t, port, '127.0.0.1'))
  t.equal(listener.stats.refusedRatePerSource, 1, '127.0.0.1 spent its burst')
  await rawConnectFrom(t, port, '127.0.0.2') // listener 0
  await until(() => listener.handshakesInProgress === 2, 'another source still admitted')
  await closed(await rawConnectFrom(t, port, '127.0.0.3'))
  t.equal(listener.stats.refusedRate, 1, 'the listener spent its burst')
  t.ok(await stillCarries(good, served, 40), 'the open link still carries cells')
})

t.test('the per-source table holds only what is open or refilling, and empties again', async (t) => {
  const p = peers('NK')
  const { listener, port, links } = await listen(t, p)
  const good = await dial(t, p, port)
  await links.next()
  const linked = await rawConnectFrom(t, port, '127.0.0.2')
  await rawHandshake(p, linked)
  await links.next()
  const sockets = []
  for (let i = 10; i < 40; i++) sockets.push(await rawConnectFrom(t, port, `127.0.0.${i}`))
  await until(() => listener.handshakesInProgress === 30, '30 handshakes in progress')
  t.equal(listener.trackedSources, 32, 'one entry per source')

  good.close()
  linked.destroy()
  for (const socket of sockets) socket.destroy()
  await until(() => listener.trackedSources === 0, 'the table to empty')
  t.equal(listener.handshakesInProgress, 0)
  t.equal(listener.openLinks, 0)
})

t.test('the predecessor wiring passes the limits to the listener', async (t) => {
  const p = peers('KK')
  const listener = await acceptPredecessors({
    listen: { host: '127.0.0.1', port: 0 },
    cellSize: CELL,
    localStatic: p.server,
    predecessorKey: p.client.publicKey,
    prologue: PROLOGUE,
    limits: { maxHandshakesPerSource: 1 },
    attach: () => ({ onCell: () => {}, onClose: () => {} }),
  })
  t.teardown(() => listener.close())
  const port = listener.address().port
  await rawConnectFrom(t, port, '127.0.0.1')
  await until(() => listener.handshakesInProgress === 1, 'the first handshake')
  await closed(await rawConnectFrom(t, port, '127.0.0.1'))
  t.equal(listener.stats.refusedHandshakesPerSource, 1)
})

t.test('unusable limits are refused before the port opens', async (t) => {
  const p = peers('NK')
  const base = {
    host: '127.0.0.1', port: 0, cellSize: CELL, pattern: 'NK' as const, localStatic: p.server, prologue: PROLOGUE, onLink: () => {},
  }
  for (const limits of [{ maxHandshakes: 0 }, { maxLinksPerSource: 1.5 }, { handshakeRate: -1 }, { handshakeBurst: 2 ** 30 }]) {
    const err = await listenLinks({ ...base, limits }).then(async (listener) => { await listener.close() }, (e: unknown) => e)
    t.ok(err instanceof LinkError && err.code === 'LINK_BAD_OPTIONS', `${JSON.stringify(limits)}: LINK_BAD_OPTIONS`)
    t.match((err as Error).message, Object.keys(limits)[0]!, 'the message names the field')
  }
})
