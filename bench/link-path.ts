/**
 * The link's own per-cell cost, through the real Link class: send() of one round's cells
 * (sealed into batches, one write) to a peer Link that opens them and emits each cell. The two
 * Links share an in-memory socket pair that hands every write on in 64 KiB chunks, as a TCP
 * read would, so no kernel time is counted. Best of five runs per write size, after a warm-up.
 *
 *   npm run build && node dist/bench/link-path.js [writeSizes, default 1,12,31,100]
 *
 * Kept free of anything but the Link's constructor and send(), so the same file runs against
 * an older build for a before/after figure.
 */
import { EventEmitter } from 'node:events'
import type { Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { cryptoReady, randomBytes } from '../src/crypto/index.js'
import { Link } from '../src/link/link.js'
import { keyed } from '../test/helpers/keyed-cipher.js'

const CELL = 2048
const CHUNK = 65536

/** Just what a Link uses of a net.Socket; write() delivers to the peer at once, in chunks. */
class MemorySocket extends EventEmitter {
  peer: MemorySocket | null = null
  readonly writableNeedDrain = false
  readonly writableLength = 0
  pause (): this { return this }
  resume (): this { return this }
  destroy (): this { return this }
  end (done?: () => void): this { done?.(); return this }
  write (bytes: Uint8Array): boolean {
    for (let at = 0; at < bytes.length; at += CHUNK) this.peer!.emit('data', bytes.subarray(at, Math.min(bytes.length, at + CHUNK)))
    return true
  }
}

await cryptoReady()
const forward = randomBytes(32)
const backward = randomBytes(32)
const sa = new MemorySocket()
const sb = new MemorySocket()
sa.peer = sb
sb.peer = sa
const handshakeHash = new Uint8Array(64)
const common = { cellSize: CELL, leftover: new Uint8Array(0), frameTimeoutMs: 10_000 }
const a = new Link({ ...common, socket: sa as unknown as Socket, ciphers: { send: keyed(forward), receive: keyed(backward), handshakeHash } })
const b = new Link({ ...common, socket: sb as unknown as Socket, ciphers: { send: keyed(backward), receive: keyed(forward), handshakeHash } })
let received = 0
b.on('cell', () => { received++ })
await new Promise((resolve) => setTimeout(resolve, 5)) // cells flow from the next tick on

const sizes = (process.argv[2] ?? '1,12,31,100').split(',').map(Number)
const usPerCell: Record<number, number> = {}
for (const size of sizes) {
  const cells = Array.from({ length: size }, () => randomBytes(CELL))
  const writes = Math.max(50, Math.ceil(60_000 / size))
  let best = Infinity
  for (let run = 0; run < 6; run++) {
    const before = received
    const start = performance.now()
    for (let w = 0; w < writes; w++) a.send(cells)
    const us = (performance.now() - start) * 1000 / (writes * size)
    if (received - before !== writes * size) throw new Error(`link-path: ${received - before} of ${writes * size} cells arrived`)
    if (run > 0) best = Math.min(best, us) // run 0 warms up
  }
  usPerCell[size] = Number(best.toFixed(2))
}
console.log(JSON.stringify({ cellSize: CELL, usPerCellByWriteSize: usPerCell }))
a.close()
b.close()
