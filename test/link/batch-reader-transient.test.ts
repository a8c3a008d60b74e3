/**
 * BatchReader and transient chunks (src/base/socket-reads.ts): a chunk read into the thread's
 * shared buffer is overwritten by the next read, so the cells handed on must never be views
 * of it, whether the body lies wholly in the chunk or straddles two; a chunk of its own is
 * still opened in place (no copy).
 */
import t from 'tap'
import { cryptoReady, randomBytes } from '../../src/crypto/index.js'
import { BatchReader } from '../../src/link/batch-reader.js'
import type { CipherState } from '../../src/link/noise/cipher-state.js'
import { rawBatch } from './raw-batch.js'
import { keyed } from '../helpers/keyed-cipher.js'
import { concat } from '../helpers/bytes.js'

await cryptoReady()

const CELL = 256

function cipherPair (): [CipherState, CipherState] {
  const key = randomBytes(32)
  return [keyed(key), keyed(key)]
}

function cellsOf (n: number, fill: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => new Uint8Array(CELL).fill((fill + i) % 200))
}

/** A reader that keeps every batch it is handed, as a hop keeps queued cells. */
function keeping (receive: CipherState): { reader: BatchReader, bodies: Uint8Array[] } {
  const bodies: Uint8Array[] = []
  const reader = new BatchReader(CELL, receive, {
    onBatch (body) { bodies.push(body); return true },
    onError (error) { throw error },
  })
  return { reader, bodies }
}

t.test('a body wholly in a transient chunk is opened into memory of its own', async (t) => {
  const [send, receive] = cipherPair()
  const first = cellsOf(3, 1)
  const second = cellsOf(2, 50)
  const wire = concat([rawBatch(send, first), rawBatch(send, second)])
  const { reader, bodies } = keeping(receive)
  const shared = new Uint8Array(wire.length + 100) // the "read buffer", larger than the read
  shared.set(wire)
  t.equal(reader.push(shared.subarray(0, wire.length), true), wire.length)
  t.equal(bodies.length, 2)
  for (const body of bodies) t.not(body.buffer, shared.buffer, 'not a view of the read buffer')
  shared.fill(0xee) // the next read
  t.same(bodies[0], concat(first), 'the first batch is intact after the buffer is reused')
  t.same(bodies[1], concat(second), 'the second too')
})

t.test('a body straddling two transient chunks is gathered, and the header too', async (t) => {
  const [send, receive] = cipherPair()
  const cells = cellsOf(4, 7)
  const wire = rawBatch(send, cells)
  const { reader, bodies } = keeping(receive)
  const shared = new Uint8Array(wire.length)
  // Cut inside the header, then inside the body: each piece goes through the same buffer.
  for (const [from, to] of [[0, 10], [10, 100], [100, wire.length]] as const) {
    shared.set(wire.subarray(from, to))
    t.equal(reader.push(shared.subarray(0, to - from), true), to - from)
    shared.fill(0xee)
  }
  t.equal(bodies.length, 1)
  t.same(bodies[0], concat(cells), 'intact')
})

t.test('a chunk of its own is opened in place: the cells are views of it', async (t) => {
  const [send, receive] = cipherPair()
  const cells = cellsOf(2, 9)
  const wire = rawBatch(send, cells)
  const { reader, bodies } = keeping(receive)
  reader.push(wire)
  t.equal(bodies.length, 1)
  t.equal(bodies[0]!.buffer, wire.buffer, 'no copy')
  t.same(bodies[0], concat(cells))
})
