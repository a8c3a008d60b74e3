/**
 * Links rekey in place (PROTOCOL.md §8.4): a REKEY control cell, the last cell of a batch
 * sealed under the old key, switches each direction's key without losing or reordering a
 * cell; the control cell never reaches the node; a malformed or misplaced one closes the link
 * (LINK_BAD_CONTROL); a link closes before a nonce could repeat (LINK_NONCE_EXHAUSTED).
 */
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Socket } from 'node:net'
import { cryptoReady, equal } from '../../src/crypto/index.js'
import { dialLink, listenLinks } from '../../src/link/index.js'
import type { TransportCiphers } from '../../src/link/noise/handshake.js'
import { CELL, PROLOGUE, cell, cellNumber, closeReason, closed, collect, dial, dialOptions, listen, peers, rawConnect, rawInitiator, readExactly, type Peers } from './loopback.js'
import { linkPair } from './link-pair.js'
import { RAW_HEADER_BYTES, rawBatch, readRawBatch } from './raw-batch.js'

await cryptoReady()

const EMPTY = new Uint8Array(0)
const LAST_NONCES = (left: number): bigint => 2n ** 64n - 1n - BigInt(left)

/** The wire form of a REKEY, written out here rather than taken from the code under test. */
function rekeyCell (): Uint8Array {
  const c = new Uint8Array(CELL)
  c[4] = 0xff
  c[5] = 1
  return c
}

function range (from: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => from + i)
}

/** A hand-made KK initiator on a real socket: the test holds its ciphers. */
async function rawPeer (t: Parameters<typeof rawConnect>[0], p: Peers, port: number): Promise<{ socket: Socket, ciphers: TransportCiphers }> {
  const socket = await rawConnect(t, port)
  const handshake = rawInitiator(p)
  socket.write(handshake.writeMessage(EMPTY))
  handshake.readMessage(await readExactly(socket, 48))
  return { socket, ciphers: handshake.transport() }
}

t.test('3000 cells each way cross a rekey every second batch, in order, none lost', async (t) => {
  // Four AEAD calls per key: its second batch ends with the REKEY.
  const { a, b } = await linkPair(t, { rekeyAfterMessages: 4 })
  const count = 3000
  const atB = collect(b, count)
  const atA = collect(a, count)
  // Sizes 1…37 and now and then 300 (two batches of 255 cells at most, the REKEY in the first or second).
  let sends = 0
  for (let sent = 0, size = 1; sent < count; sent += size, size = size === 300 ? 1 : size % 37 === 0 ? 300 : size + 1) {
    const n = Math.min(size, count - sent)
    a.send(range(sent, n).map((i) => cell(i)))
    b.send(range(100_000 + sent, n).map((i) => cell(i)))
    sends++
  }
  const batches = a.batchesOut
  const [fromA, fromB] = await Promise.all([atB, atA])
  t.same(fromA.map(cellNumber), range(0, count), 'a → b in order')
  t.same(fromB.map(cellNumber), range(100_000, count), 'b → a in order')
  t.ok(fromA.every((c, i) => equal(c, cell(i))), 'every cell intact')
  t.ok(batches > sends, `some writes took two batches (${batches} batches for ${sends} writes)`)
  const rekeys = Math.floor(batches / 2)
  t.equal(a.rekeysSent, rekeys, 'a REKEY ends every second batch')
  t.equal(b.rekeysReceived, rekeys)
  t.equal(b.rekeysSent, b.batchesOut >> 1)
  t.equal(a.rekeysReceived, b.rekeysSent)
  t.equal(a.rekeys, a.rekeysSent + a.rekeysReceived)
  t.equal(a.cellsOut, count + rekeys, 'REKEY cells are cells on the wire')
  t.equal(b.cellsIn, count + rekeys)
  t.equal(b.batchesIn, batches)
})

t.test('links dialled and accepted with a short rekeyMs rekey on the clock and lose nothing', async (t) => {
  const p = peers('NK')
  const { links, listener } = await listen(t, p, { rekeyMs: 1 })
  const client = await dial(t, p, listener.address().port, { rekeyMs: 1 })
  const server = await links.next()
  const rounds = 40
  const perRound = 50
  const atServer = collect(server, rounds * perRound)
  const atClient = collect(client, rounds * perRound)
  for (let round = 0; round < rounds; round++) {
    client.send(range(round * perRound, perRound).map((i) => cell(i)))
    server.send(range(100_000 + round * perRound, perRound).map((i) => cell(i)))
    await sleep(3) // lets the 1 ms rekey timers run between rounds
  }
  const [toServer, toClient] = await Promise.all([atServer, atClient])
  t.same(toServer.map(cellNumber), range(0, rounds * perRound), 'client → server in order')
  t.same(toClient.map(cellNumber), range(100_000, rounds * perRound), 'server → client in order')
  t.ok(server.rekeysReceived >= 1 && server.rekeysReceived <= client.rekeysSent, `client rekeyed (${client.rekeysSent})`)
  t.ok(client.rekeysReceived >= 1 && client.rekeysReceived <= server.rekeysSent, `server rekeyed (${server.rekeysSent})`)
})

t.test('the listener counts the rekeys of the links it accepted, closed links included (mixgate_link_rekeys_total)', async (t) => {
  const p = peers('NK')
  const { links, listener } = await listen(t, p, { rekeyMs: 1 })
  const client = await dial(t, p, listener.address().port, { rekeyMs: 1 })
  const server = await links.next()
  const atServer = collect(server, 200)
  for (let round = 0; round < 20; round++) {
    client.send(range(round * 10, 10).map((i) => cell(i)))
    server.send(range(round * 10, 10).map((i) => cell(i)))
    await sleep(3) // lets the 1 ms rekey timers run between rounds
  }
  await atServer
  t.ok(server.rekeys >= 2, `the accepted link rekeyed (${server.rekeys})`)
  t.equal(listener.linkRekeys, server.rekeys, 'an open link: its rekeys, both directions')
  const ended = new Promise<void>((resolve) => server.once('close', () => resolve()))
  client.close()
  await ended
  t.equal(listener.openLinks, 0)
  t.equal(listener.linkRekeys, server.rekeys, 'kept once the link closed: a counter never goes down')
})

t.test('a timer REKEY is a batch of one cell; after it the old key fails and Rekey(old) opens', async (t) => {
  const p = peers('KK')
  const { links, listener } = await listen(t, p, { rekeyMs: 20 })
  const raw = await rawPeer(t, p, listener.address().port)
  const server = await links.next()
  const receive = raw.ciphers.receive

  server.send([cell(1)])
  t.same(await readRawBatch(raw.socket, receive, CELL), [cell(1)])
  // Nothing else is sent, so the next batch is the timer's REKEY.
  t.same(await readRawBatch(raw.socket, receive, CELL), [rekeyCell()], 'one cell: circuit 0, command 255, type 1, zeros')
  t.equal(server.rekeysSent, 1, 'one rekey: the timer skips a key that sealed nothing')

  server.send([cell(2)])
  const header = await readExactly(raw.socket, RAW_HEADER_BYTES)
  t.equal(receive.decryptWithAd(EMPTY, header), null, 'a receiver that did not rekey cannot open the next header')
  t.equal(receive.nonceValue, 4n, 'two batches, two nonces each')
  receive.rekey()
  t.same(receive.decryptWithAd(EMPTY, header), Uint8Array.of(0x80, 1, 0, 0, 0, 0, 0), 'Rekey(k) opens it, at nonce 4: the counter continued (a whole write of one cell, round 0, span 0)')
  t.same(receive.decryptWithAd(EMPTY, await readExactly(raw.socket, CELL + 16)), cell(2))
})

t.test('the peer\'s REKEY ends its batch, is consumed by the link, never emitted, and later cells open', async (t) => {
  const p = peers('KK')
  const { links, listener } = await listen(t, p)
  const raw = await rawPeer(t, p, listener.address().port)
  const server = await links.next()
  const arriving = collect(server, 3)
  const send = raw.ciphers.send
  const batches = [rawBatch(send, [cell(7), rekeyCell()])]
  send.rekey()
  // Command 255 on a circuit other than 0 is not link control: the node gets it (and refuses it).
  const notControl = cell(9)
  notControl[4] = 0xff
  batches.push(rawBatch(send, [cell(8), notControl]))
  raw.socket.write(Buffer.concat(batches))
  const cells = await arriving
  t.same(cells.map(cellNumber), [7, 8, 9])
  t.same(cells[2], notControl)
  t.equal(server.rekeysReceived, 1)
  t.equal(server.cellsIn, 4)
  t.equal(server.batchesIn, 2)
  t.notOk(server.closed)
})

t.test('a malformed or misplaced control cell closes its link with LINK_BAD_CONTROL; the listener serves on', async (t) => {
  const p = peers('KK')
  const { links, listener } = await listen(t, p)
  const port = listener.address().port
  const unknownType = rekeyCell()
  unknownType[5] = 2
  const noType = rekeyCell()
  noType[5] = 0
  const trailing = rekeyCell()
  trailing[CELL - 1] = 1
  const cases = [
    ['unknown type', [cell(1), unknownType]],
    ['type 0', [cell(1), noType]],
    ['non-zero tail', [cell(1), trailing]],
    ['REKEY before the batch\'s last cell', [cell(1), rekeyCell(), cell(2)]],
  ] as const
  for (const [name, batch] of cases) {
    const raw = await rawPeer(t, p, port)
    const server = await links.next()
    const delivered: number[] = []
    server.on('cell', (c) => delivered.push(cellNumber(c)))
    const reason = closeReason(server)
    const send = raw.ciphers.send
    raw.socket.write(Buffer.concat([rawBatch(send, batch), rawBatch(send, [cell(3)])]))
    t.equal((await reason)?.code, 'LINK_BAD_CONTROL', name)
    t.same(delivered, [1], `${name}: the cell before it was delivered, none after`)
    await closed(raw.socket)
  }
  const healthy = await dial(t, p, port)
  const healthyServer = await links.next()
  const arriving = collect(healthyServer, 1)
  healthy.send([cell(5)])
  t.same((await arriving).map(cellNumber), [5], 'another link still works')
})

t.test('an impossible batch count closes the link with LINK_BAD_BATCH', async (t) => {
  const p = peers('KK')
  const { links, listener } = await listen(t, p)
  for (const count of [0, Math.floor(65519 / CELL) + 1]) {
    const raw = await rawPeer(t, p, listener.address().port)
    const server = await links.next()
    const reason = closeReason(server)
    server.on('cell', () => t.fail('no cell of a refused batch'))
    raw.socket.write(rawBatch(raw.ciphers.send, [cell(1)], count))
    t.equal((await reason)?.code, 'LINK_BAD_BATCH', `count ${count}`)
    await closed(raw.socket)
  }
})

t.test('the sender closes with LINK_NONCE_EXHAUSTED instead of using nonce 2^64-1', async (t) => {
  // 4 nonces left: two batches, the second the key's last (it ends with a REKEY), then none.
  const { a, b } = await linkPair(t, {
    rekeyAfterMessages: 4,
    ciphers: (ca, cb) => { ca.send.setNonce(LAST_NONCES(4)); cb.receive.setNonce(LAST_NONCES(4)) },
  })
  const arriving = collect(b, 3)
  a.send([cell(0), cell(1)])
  a.send([cell(2)])
  t.same((await arriving).map(cellNumber), [0, 1, 2], 'the last usable nonces carry cells and a REKEY')
  t.equal(b.rekeysReceived, 1)
  const aClosed = closeReason(a)
  const bClosed = closeReason(b)
  t.equal(a.send([cell(3)]), false)
  t.equal((await aClosed)?.code, 'LINK_NONCE_EXHAUSTED')
  t.equal((await bClosed)?.code, 'LINK_CLOSED', 'the peer sees the link close')
})

t.test('the receiver closes with LINK_NONCE_EXHAUSTED when its nonce is used up', async (t) => {
  const { a, b } = await linkPair(t, { ciphers: (_ca, cb) => { cb.receive.setNonce(LAST_NONCES(0)) } })
  let delivered = 0
  b.on('cell', () => { delivered++ })
  const bClosed = closeReason(b)
  a.send([cell(0)])
  t.equal((await bClosed)?.code, 'LINK_NONCE_EXHAUSTED')
  t.equal(delivered, 0)
})

t.test('rekey options are checked before any socket opens', async (t) => {
  const p = peers('NK')
  const codeOf = async (promise: Promise<unknown>): Promise<string | undefined> => {
    try { await promise; return undefined } catch (err) { return (err as { code?: string }).code }
  }
  t.equal(await codeOf(dialLink(dialOptions(p, 1, { rekeyMs: 0 }))), 'LINK_BAD_OPTIONS')
  t.equal(await codeOf(dialLink(dialOptions(p, 1, { rekeyMs: Number.NaN }))), 'LINK_BAD_OPTIONS')
  t.equal(await codeOf(dialLink(dialOptions(p, 1, { cellSize: 5 }))), 'LINK_BAD_OPTIONS', 'a cell must hold a control cell')
  const listenBase = { host: '127.0.0.1', port: 0, cellSize: CELL, pattern: 'NK' as const, prologue: PROLOGUE, localStatic: p.server, onLink: () => {} }
  t.equal(await codeOf(listenLinks({ ...listenBase, rekeyMs: -1 })), 'LINK_BAD_OPTIONS')
})
