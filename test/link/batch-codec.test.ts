/**
 * The batch codec (PROTOCOL.md §8.4) without sockets: BatchSealer's writes read back by
 * BatchReader whatever the TCP chunking, REKEYs inside batches switching keys at the batch's
 * end, write sizes a function of the cell count alone, and every tampered byte, impossible
 * count or used-up nonce closing with its code before anything after it is read.
 */
import t from 'tap'
import fc from 'fast-check'
import { cryptoReady, randomBytes } from '../../src/crypto/index.js'
import { BatchReader } from '../../src/link/batch-reader.js'
import { BatchSealer, NONCES_EXHAUSTED } from '../../src/link/batch-sealer.js'
import { MAX_WRITE_SPAN, linkWriteBytes, maxCellsPerBatch } from '../../src/link/batch-format.js'
import { isLinkControlCell, isWellFormedRekey } from '../../src/link/link-control.js'
import type { CipherState } from '../../src/link/noise/cipher-state.js'
import type { LinkError } from '../../src/link/errors.js'
import { rawBatch } from './raw-batch.js'
import { keyed } from '../helpers/keyed-cipher.js'
import { fullCollection } from '../../src/node/burst-collector.js'
import { concat, chunked } from '../helpers/bytes.js'

await cryptoReady()

/** Cell sizes whose batches hold 10919, 255, 31, 3, 2 and 1 cells. */
const CELL_SIZES = [6, 256, 2048, 21840, 32760, 32768]
/** A sealed header: flags_count(2) ‖ round(4) ‖ span(1) and a 16-byte tag (PROTOCOL.md §8.4). */
const HEADER = 23

/** A write's span in the property test: small ones, and past what the header holds (clamped). */
const spanOf = (i: number): number => (i * 37) % 300

function cipherPair (): [CipherState, CipherState] {
  const key = randomBytes(32)
  return [keyed(key), keyed(key)]
}

/** A cell whose first bytes number it (never a control cell: byte 4 is below 0xff). */
function numbered (n: number, size: number): Uint8Array {
  const c = new Uint8Array(size)
  new DataView(c.buffer).setUint32(0, n)
  c[4] = n % 200
  if (size > 6) c.fill(n & 0xff, 6)
  return c
}

/** A reader that acts on REKEY as the Link does, and records what it delivers. */
function reading (cellSize: number, receive: CipherState) {
  const cells: Uint8Array[] = []
  const errors: LinkError[] = []
  let rekeys = 0
  let misplacedRekeys = 0
  let maxPending = 0
  let offset = 0
  /** Stream offset after each batch, and the data cells delivered by then. */
  const batchEnds: number[] = []
  const cellsAfterBatch: number[] = []
  /** The round and span of every write whose last batch arrived, in order. */
  const writeRounds: number[] = []
  const writeSpans: number[] = []
  const reader = new BatchReader(cellSize, receive, {
    onBatch (body, count, endsWrite, round, span) {
      if (endsWrite) { writeRounds.push(round); writeSpans.push(span) }
      for (let i = 0; i < count; i++) {
        const cell = body.subarray(i * cellSize, (i + 1) * cellSize)
        if (isLinkControlCell(cell) && isWellFormedRekey(cell)) {
          if (i !== count - 1) misplacedRekeys++
          receive.rekey()
          rekeys++
        } else {
          cells.push(cell.slice())
        }
      }
      batchEnds.push((batchEnds.at(-1) ?? 0) + HEADER + count * cellSize + 16)
      cellsAfterBatch.push(cells.length)
      return true
    },
    onError (error) { errors.push(error) },
  })
  const push = (piece: Uint8Array): number => {
    const used = reader.push(piece)
    offset += used
    maxPending = Math.max(maxPending, reader.pendingBytes)
    return used
  }
  return { reader, cells, errors, push, batchEnds, cellsAfterBatch, writeRounds, writeSpans, get offset () { return offset }, get rekeys () { return rekeys }, get misplacedRekeys () { return misplacedRekeys }, get maxPending () { return maxPending } }
}

t.test('any writes, any chunking: the same cells come out, REKEYs switch keys at batch ends, sizes follow the count, each write ends once with its round and span', async (t) => {
  fc.assert(fc.property(
    fc.constantFrom(...CELL_SIZES),
    fc.constantFrom(4, 6, 8, 2 ** 20),
    fc.array(fc.integer({ min: 1, max: 70 }), { minLength: 1, maxLength: 8 }),
    fc.array(fc.nat(), { maxLength: 30 }),
    fc.integer({ min: 0, max: 2 ** 40 }),
    (cellSize, messagesPerKey, writeSizes, cuts, firstRound) => {
      const [send, receive] = cipherPair()
      const sealer = new BatchSealer(cellSize, send, messagesPerKey)
      const sent: Uint8Array[] = []
      const writes: Uint8Array[] = []
      for (const size of writeSizes) {
        const cells = Array.from({ length: size }, (_, i) => numbered(sent.length + i, cellSize))
        sent.push(...cells)
        const rekeysBefore = sealer.rekeysSent
        const cellsBefore = sealer.cellsSealed
        const wire = sealer.seal(cells, firstRound + writes.length, spanOf(writes.length))
        if (wire === NONCES_EXHAUSTED) return false
        const wireCells = size + sealer.rekeysSent - rekeysBefore
        if (sealer.cellsSealed - cellsBefore !== wireCells) return false
        if (wire.length !== linkWriteBytes(wireCells, cellSize)) return false
        writes.push(wire)
      }
      const r = reading(cellSize, receive)
      for (const piece of chunked(concat(writes), cuts)) if (r.push(piece) !== piece.length) return false
      const bound = HEADER + Math.floor(65519 / cellSize) * cellSize + 16
      return r.errors.length === 0 && r.reader.pendingBytes === 0 && r.maxPending <= bound &&
        r.misplacedRekeys === 0 && r.rekeys === sealer.rekeysSent &&
        r.reader.batchesRead === sealer.batchesSealed &&
        r.cells.length === sent.length && r.cells.every((c, i) => Buffer.compare(c, sent[i]!) === 0) &&
        r.writeRounds.length === writes.length && r.writeRounds.every((round, i) => round === (firstRound + i) % 2 ** 32) &&
        r.writeSpans.every((span, i) => span === Math.min(MAX_WRITE_SPAN, spanOf(i)))
    }), { numRuns: 200 })
  t.pass('200 random runs agreed')
})

t.test('a key seals messagesPerKey / 2 batches, the last ending with its REKEY', async (t) => {
  const [send, receive] = cipherPair()
  const sealer = new BatchSealer(2048, send, 6)
  const r = reading(2048, receive)
  for (let i = 0; i < 7; i++) {
    const wire = sealer.seal([numbered(i, 2048)])
    t.not(wire, NONCES_EXHAUSTED)
    r.push(wire as Uint8Array)
  }
  t.equal(sealer.rekeysSent, 2, 'batches 3 and 6 carried a REKEY')
  t.equal(sealer.cellsSealed, 9)
  t.equal(r.rekeys, 2)
  t.equal(r.cells.length, 7)
  t.equal(send.nonceValue, 14n, 'two nonces per batch; a rekey leaves n alone')
})

t.test('a full write: 31 cells of 2048 per batch, a REKEY takes a cell\'s place in its batch', async (t) => {
  t.equal(maxCellsPerBatch(2048), 31)
  t.equal(maxCellsPerBatch(32768), 1)
  t.equal(linkWriteBytes(100, 2048), 100 * 2048 + 4 * (HEADER + 16))
  const [send] = cipherPair()
  const sealer = new BatchSealer(2048, send, 4)
  t.equal((sealer.seal(Array.from({ length: 31 }, (_, i) => numbered(i, 2048))) as Uint8Array).length, linkWriteBytes(31, 2048))
  // The key's second batch is its last: 30 cells and the REKEY, then one more batch of 1.
  t.equal((sealer.seal(Array.from({ length: 31 }, (_, i) => numbered(i, 2048))) as Uint8Array).length, linkWriteBytes(32, 2048))
  t.equal(sealer.batchesSealed, 3)
  const single = new BatchSealer(32768, cipherPair()[0], 4)
  t.equal((single.seal([numbered(0, 32768), numbered(1, 32768)]) as Uint8Array).length, linkWriteBytes(3, 32768), 'one cell per batch: the REKEY goes alone')
  t.equal(single.rekeysSent, 1)
})

t.test('a tampered byte anywhere closes with LINK_AUTH_FAILED; nothing of its batch or after is delivered', async (t) => {
  fc.assert(fc.property(
    fc.constantFrom(6, 256, 2048, 32768),
    fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 6 }),
    fc.nat(), fc.integer({ min: 1, max: 255 }),
    fc.array(fc.nat(), { maxLength: 10 }),
    (cellSize, writeSizes, where, xor, cuts) => {
      const key = randomBytes(32)
      const sealer = new BatchSealer(cellSize, keyed(key), 6)
      let sent = 0
      const writes = writeSizes.map((size) => {
        const wire = sealer.seal(Array.from({ length: size }, (_, i) => numbered(sent + i, cellSize))) as Uint8Array
        sent += size
        return wire
      })
      const stream = concat(writes)
      // Read intact first, to learn where each batch ends and how many cells it carried.
      const intact = reading(cellSize, keyed(key))
      intact.push(stream.slice())
      const at = where % stream.length
      const whole = intact.batchEnds.filter((end) => end <= at).length - 1
      const owed = whole < 0 ? 0 : intact.cellsAfterBatch[whole]!
      stream[at]! ^= xor
      const r = reading(cellSize, keyed(key))
      for (const piece of chunked(stream, cuts)) {
        r.push(piece)
        if (r.errors.length > 0) break
      }
      return r.errors.length === 1 && r.errors[0]!.code === 'LINK_AUTH_FAILED' &&
        r.cells.length === owed && r.cells.every((c, i) => new DataView(c.buffer, c.byteOffset).getUint32(0) === i)
    }), { numRuns: 200 })
  t.pass('200 random flips refused')
})

t.test('a header announcing 0 or more than maxCellsPerBatch cells closes with LINK_BAD_BATCH before its body is kept', async (t) => {
  for (const count of [0, 32, 65535]) {
    const [send, receive] = cipherPair()
    const r = reading(2048, receive)
    const header = rawBatch(send, [], count).subarray(0, HEADER)
    const used = r.push(concat([header, new Uint8Array(65535)]))
    t.equal(r.errors.length, 1)
    t.equal(r.errors[0]!.code, 'LINK_BAD_BATCH', `count ${count}`)
    t.equal(used, HEADER, 'stopped right after the header')
    t.equal(r.maxPending, 0, 'nothing of the body buffered')
  }
  const [send, receive] = cipherPair()
  const r = reading(2048, receive)
  r.push(rawBatch(send, Array.from({ length: 31 }, (_, i) => numbered(i, 2048))))
  t.equal(r.cells.length, 31, '31 is allowed')
  t.same(r.errors, [])
})

t.test('a header split from its body: the body waits for its bytes, then opens', async (t) => {
  const [send, receive] = cipherPair()
  const r = reading(256, receive)
  const wire = rawBatch(send, [numbered(1, 256), numbered(2, 256)])
  t.equal(r.push(wire.slice(0, 10)), 10)
  t.equal(r.reader.pendingBytes, 10)
  t.equal(r.push(wire.slice(10, HEADER)), HEADER - 10)
  t.equal(r.reader.pendingBytes, HEADER, 'a batch is in progress once its header has opened')
  t.equal(r.push(wire.slice(HEADER, 100)), 100 - HEADER)
  t.equal(r.reader.pendingBytes, 100)
  t.equal(r.cells.length, 0)
  r.push(wire.slice(100))
  t.equal(r.cells.length, 2)
  t.equal(r.reader.pendingBytes, 0)
})

t.test('a body inside one chunk is opened in place: its cells are views of that chunk', async (t) => {
  const [send, receive] = cipherPair()
  const chunk = rawBatch(send, [numbered(1, 256), numbered(2, 256)])
  let seen: Uint8Array | null = null
  const reader = new BatchReader(256, receive, { onBatch: (cells) => { seen = cells; return true }, onError: () => {} })
  reader.push(chunk)
  t.equal(seen!.buffer, chunk.buffer, 'no copy')
  t.equal(seen!.byteOffset, chunk.byteOffset + HEADER)
  t.equal(seen!.length, 512)
  t.notOk(Buffer.isBuffer(seen), 'a plain Uint8Array, whose subarray cannot be mistaken for a copy')
})

t.test('a sink returning false stops after that batch; push reports where', async (t) => {
  const [send, receive] = cipherPair()
  const two = concat([rawBatch(send, [numbered(1, 256)]), rawBatch(send, [numbered(2, 256)])])
  const reader = new BatchReader(256, receive, { onBatch: () => false, onError: () => {} })
  t.equal(reader.push(two), HEADER + 256 + 16)
  t.equal(reader.pendingBytes, 0)
  t.equal(reader.push(two.subarray(HEADER + 256 + 16)), HEADER + 256 + 16, 'the rest reads on')
  t.equal(reader.batchesRead, 2)
})

t.test('nonce 2^64 − 1 is never used: the reader refuses a header or a body that would need it', async (t) => {
  const last = (left: number): bigint => 2n ** 64n - 1n - BigInt(left)
  for (const left of [0, 1]) {
    const [send, receive] = cipherPair()
    send.setNonce(last(left))
    receive.setNonce(last(left))
    // At 2^64 − 2 a header still seals; its body would need the reserved nonce.
    const header = left === 0 ? new Uint8Array(HEADER) : send.encryptWithAd(new Uint8Array(0), Uint8Array.of(0x80, 1, 0, 0, 0, 0, 0))
    const r = reading(256, receive)
    r.push(concat([header, new Uint8Array(256 + 16)]))
    t.equal(r.errors.length, 1)
    t.equal(r.errors[0]!.code, 'LINK_NONCE_EXHAUSTED', `${left} nonce(s) left`)
  }
})

t.test('the sealer seals nothing when a write would need nonce 2^64 − 1', async (t) => {
  const [send] = cipherPair()
  send.setNonce(2n ** 64n - 1n - 3n)
  const sealer = new BatchSealer(256, send, 2 ** 20)
  t.not(sealer.seal([numbered(0, 256)]), NONCES_EXHAUSTED, 'two nonces of three: one batch')
  t.equal(sealer.seal([numbered(1, 256)]), NONCES_EXHAUSTED)
  t.equal(sealer.sealRekey(), NONCES_EXHAUSTED)
  t.equal(send.nonceValue, 2n ** 64n - 2n, 'n unchanged by the refused write')
  t.equal(sealer.batchesSealed, 1)
})

t.test('reuse: a write seals into the last one\'s buffer when the caller allows and it fits, and reads back the same', async (t) => {
  const [send, receive] = cipherPair()
  const sealer = new BatchSealer(256, send, 2 ** 20)
  const r = reading(256, receive)
  const first = sealer.seal(Array.from({ length: 40 }, (_, i) => numbered(i, 256)), 1) as Uint8Array
  r.push(first.slice())
  const second = sealer.seal(Array.from({ length: 30 }, (_, i) => numbered(40 + i, 256)), 2, 0, true) as Uint8Array
  t.equal(second.buffer, first.buffer, 'the same memory, written again')
  r.push(second.slice())
  const third = sealer.seal([numbered(70, 256)], 3, 0, true) as Uint8Array
  t.equal(third.buffer, first.buffer, 'a smaller write too (the buffer is let go by a full collection)')
  r.push(third.slice())
  const fourth = sealer.seal([numbered(71, 256)], 4) as Uint8Array
  t.not(fourth.buffer, third.buffer, 'without reuse, a new buffer')
  r.push(fourth.slice())
  const fifth = sealer.seal(Array.from({ length: 60 }, (_, i) => numbered(72 + i, 256)), 5, 0, true) as Uint8Array
  r.push(fifth.slice())
  const sixth = sealer.seal(Array.from({ length: 61 }, (_, i) => numbered(132 + i, 256)), 6, 0, true) as Uint8Array
  t.equal(sixth.buffer, fifth.buffer, 'a new buffer has room to grow: a slightly larger write after it reuses it')
  t.ok(fifth.buffer.byteLength >= sixth.length && fifth.buffer.byteLength < 2 * fifth.length, 'of the next power of two')
  r.push(sixth)
  t.same(r.errors, [])
  t.same(r.writeRounds, [1, 2, 3, 4, 5, 6])
  t.ok(r.cells.length === 193 && r.cells.every((c, i) => new DataView(c.buffer, c.byteOffset).getUint32(0) === i), 'every cell read back in order')
})

t.test('reuse: the kept buffer is let go at the next full collection, whatever the writes', async (t) => {
  const [send] = cipherPair()
  const sealer = new BatchSealer(256, send, 2 ** 20)
  const cells = Array.from({ length: 400 }, (_, i) => numbered(i, 256))
  // The writes' views live only in here: what is left after is the sealer's own hold.
  const burst = ((): { kept: WeakRef<ArrayBufferLike>, bytes: number } => {
    const first = sealer.seal(cells, 1) as Uint8Array
    const again = sealer.seal(cells, 2, 0, true) as Uint8Array
    t.equal(again.buffer, first.buffer, 'kept between writes')
    return { kept: new WeakRef(first.buffer), bytes: first.length }
  })()
  // A WeakRef's target lives to the end of the job that last read it: collect in a later one.
  await new Promise((resolve) => setImmediate(resolve))
  fullCollection()!()
  t.equal(burst.kept.deref(), undefined, 'the burst\'s buffer is gone: a link quiet after a burst holds none of it')
  t.equal((sealer.seal(cells, 3, 0, true) as Uint8Array).length, burst.bytes, 'the next write gets a buffer of its own')
})
