/**
 * One flipped bit on the wire after the handshake closes that link with LINK_AUTH_FAILED,
 * while another link on the same listener keeps working. A batch is opened whole or not at
 * all: no cell of a tampered batch is delivered.
 */
import t from 'tap'
import { cryptoReady } from '../../src/crypto/index.js'
import { BATCH_HEADER_BYTES, HANDSHAKE_MESSAGE_BYTES, linkWriteBytes } from '../../src/link/index.js'
import { CELL, cell, cellNumber, closeReason, collect, dial, listen, peers, relay } from './loopback.js'

await cryptoReady()

for (const pattern of ['NK', 'KK'] as const) {
  t.test(`${pattern}: a corrupted batch closes its link (LINK_AUTH_FAILED), a sibling link carries on`, async (t) => {
    const p = peers(pattern)
    const { links, listener } = await listen(t, p)
    // Flip a byte inside the first cell of the second client→server batch (after the 48-byte
    // handshake message and the first batch of two cells).
    const flipAt = HANDSHAKE_MESSAGE_BYTES + linkWriteBytes(2, CELL) + BATCH_HEADER_BYTES + 100
    const bad = await relay(t, listener.address().port, flipAt)

    const victim = await dial(t, p, bad.port)
    const victimServer = await links.next()
    const healthy = await dial(t, p, listener.address().port)
    const healthyServer = await links.next()

    const serverClosed = closeReason(victimServer)
    const clientClosed = closeReason(victim)
    const delivered: number[] = []
    victimServer.on('cell', (c) => delivered.push(cellNumber(c)))
    victim.send([cell(0), cell(1)])
    victim.send([cell(2), cell(3)])

    const reason = await serverClosed
    t.equal(reason?.code, 'LINK_AUTH_FAILED', 'the receiving end closed with LINK_AUTH_FAILED')
    t.equal(victimServer.authFailures, 1)
    t.same(delivered, [0, 1], 'the batch before the bad one was delivered, nothing of it or after')
    t.equal((await clientClosed)?.code, 'LINK_CLOSED', 'the sender sees its link closed')

    const arriving = collect(healthyServer, 3)
    healthy.send([cell(10), cell(11), cell(12)])
    t.same((await arriving).map(cellNumber), [10, 11, 12], 'the other link still works')
    const back = collect(healthy, 1)
    healthyServer.send([cell(20)])
    t.same((await back).map(cellNumber), [20])
  })
}
