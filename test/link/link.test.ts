/**
 * Links over real loopback sockets: NK and KK carry cells both ways in order, a send leaves
 * in one write, counters count, and closing from either side is reported to the other.
 */
import t from 'tap'
import { Socket } from 'node:net'
import { cryptoReady } from '../../src/crypto/index.js'
import { LinkError, type Link } from '../../src/link/index.js'
import { CELL, cell, cellNumber, closeReason, collect, dial, listen, peers } from './loopback.js'

await cryptoReady()

for (const pattern of ['NK', 'KK'] as const) {
  t.test(`${pattern}: cells flow both ways, in order, between dialer and listener`, async (t) => {
    const p = peers(pattern)
    const { links, listener } = await listen(t, p)
    const client = await dial(t, p, listener.address().port)
    const server = await links.next()
    t.same(client.handshakeHash, server.handshakeHash, 'both ends agree on the handshake hash')
    t.equal(client.maxCellsPerBatch, Math.floor(65519 / CELL), 'as many cells as fit one Noise message')

    const toServer = collect(server, 300)
    const toClient = collect(client, 300)
    for (let round = 0; round < 10; round++) {
      client.send(Array.from({ length: 30 }, (_, i) => cell(round * 30 + i)))
      server.send(Array.from({ length: 30 }, (_, i) => cell(100000 + round * 30 + i)))
    }
    const [atServer, atClient] = await Promise.all([toServer, toClient])
    t.same(atServer.map(cellNumber), Array.from({ length: 300 }, (_, i) => i), 'client → server in order')
    t.same(atClient.map(cellNumber), Array.from({ length: 300 }, (_, i) => 100000 + i), 'server → client in order')
    t.same(atServer[7], cell(7), 'cell content intact')
    t.equal(client.cellsOut, 300)
    t.equal(server.cellsIn, 300)
    t.equal(server.cellsOut, 300)
    t.equal(client.cellsIn, 300)
    t.equal(client.batchesOut, 10, 'one batch per 30-cell send')
    t.equal(server.batchesIn, 10)
    t.equal(client.authFailures + server.authFailures, 0)
    t.equal(listener.stats.links, 1)
  })
}

t.test('a batch of cells leaves in exactly one socket.write', async (t) => {
  const p = peers('KK')
  const { links, listener } = await listen(t, p)
  const client = await dial(t, p, listener.address().port)
  const server = await links.next()
  const arriving = collect(server, 64)
  const originalWrite = Socket.prototype.write
  let writes = 0
  let bytes = 0
  Socket.prototype.write = function (this: Socket, ...args: Parameters<Socket['write']>) {
    writes++
    bytes += (args[0] as Uint8Array).length
    return originalWrite.apply(this, args)
  } as Socket['write']
  try {
    client.send(Array.from({ length: 64 }, (_, i) => cell(i)))
  } finally {
    Socket.prototype.write = originalWrite
  }
  t.equal(writes, 1, 'one write for 64 cells')
  t.equal(bytes, 23 + 64 * CELL + 16, 'of one batch: header, 64 cells, tag')
  t.equal((await arriving).length, 64)
})

t.test('send() refuses a cell of the wrong size before sealing anything', async (t) => {
  const p = peers('NK')
  const { links, listener } = await listen(t, p)
  const client = await dial(t, p, listener.address().port)
  const server = await links.next()
  t.throws(() => client.send([cell(1), new Uint8Array(CELL - 1)]), { code: 'LINK_BAD_CELL_SIZE' })
  t.equal(client.cellsOut, 0)
  t.equal(client.send([]), true, 'an empty batch is fine')
  // Nothing was sealed, so the nonce sequence is intact: the next cell still opens.
  const next = collect(server, 1)
  client.send([cell(5)])
  t.same((await next).map(cellNumber), [5])
})

t.test('cells sent before the dialer listens are delivered once it does', async (t) => {
  const p = peers('NK')
  const early = Array.from({ length: 20 }, (_, i) => cell(i))
  const { listener } = await listen(t, p, { onLink: (link: Link) => { link.send(early) } })
  const client = await dial(t, p, listener.address().port)
  await new Promise(resolve => setTimeout(resolve, 50)) // let the frames arrive while nobody listens
  t.same((await collect(client, 20)).map(cellNumber), early.map(cellNumber))
})

t.test('close() on one end: no reason locally, LINK_CLOSED at the peer; send afterwards returns false', async (t) => {
  const p = peers('KK')
  const { links, listener } = await listen(t, p)
  const client = await dial(t, p, listener.address().port)
  const server = await links.next()
  const atServer = closeReason(server)
  const atClient = closeReason(client)
  client.close()
  t.equal(client.closed, true)
  t.equal(await atClient, undefined)
  const reason = await atServer
  t.ok(reason instanceof LinkError)
  t.equal(reason?.code, 'LINK_CLOSED')
  t.equal(client.send([cell(1)]), false)
  t.equal(listener.openLinks, 0, 'the listener forgot the closed link')
})

t.test('listener.close() closes its open links; the dialer sees LINK_CLOSED', async (t) => {
  const p = peers('NK')
  const { links, listener } = await listen(t, p)
  const client = await dial(t, p, listener.address().port)
  await links.next()
  t.equal(listener.openLinks, 1)
  const atClient = closeReason(client)
  await listener.close()
  t.equal((await atClient)?.code, 'LINK_CLOSED')
})

t.test('a write\'s round arrives with its cells and ends after its last one with its span, even across a pause', async (t) => {
  const p = peers('KK')
  const { links, listener } = await listen(t, p)
  const client = await dial(t, p, listener.address().port)
  const server = await links.next()
  const events: string[] = []
  let cells = 0
  const done = new Promise<void>((resolve) => {
    server.on('cell', (c) => {
      events.push(`cell ${cellNumber(c)} of ${server.roundIn}`)
      // Pause in the middle of the first write's second batch, and after its last cell.
      if (++cells === 300 || cells === 600) {
        server.pause()
        setTimeout(() => server.resume(), 20)
      }
    })
    server.on('roundEnd', (round, span) => {
      events.push(`end ${round} span ${span}`)
      if (round === 2 ** 32 - 1) resolve()
    })
  })
  // 600 cells of 256 bytes in one write: three batches; round 2^32 + 5 goes on the wire as 5.
  client.send(Array.from({ length: 600 }, (_, i) => cell(i)), 2 ** 32 + 5, 3)
  client.send([cell(600)], 6)
  client.send([cell(601)], -1, 1000)
  await done
  const expected = [...Array.from({ length: 600 }, (_, i) => `cell ${i} of 5`), 'end 5 span 3', 'cell 600 of 6', 'end 6 span 0', `cell 601 of ${2 ** 32 - 1}`, `end ${2 ** 32 - 1} span 255`]
  t.same(events, expected, 'each write: its cells with its round, then its end and span (clamped to 255), once')
})
