/**
 * test/fixtures/vectors/link.json rebuilt from its inputs with bare ChaChaPoly calls (the
 * wire form of PROTOCOL.md §8.4 written out by hand, not BatchSealer), and read back by a
 * real BatchReader.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { aeadSeal, cryptoReady } from '../../src/crypto/index.js'
import { BatchReader } from '../../src/link/batch-reader.js'
import { CipherState } from '../../src/link/noise/cipher-state.js'

await cryptoReady()

interface LinkVectors {
  input: { cellSize: number, key: string, firstNonce: number, messagesPerKey: number }
  keys: string[]
  writes: Array<{ round: number, span: number, cells: string[], wire: string }>
}
const vectors = JSON.parse(readFileSync(fileURLToPath(new URL('../../../test/fixtures/vectors/link.json', import.meta.url)), 'utf8')) as LinkVectors
const unhex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'))
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

function nonce (n: number): Uint8Array {
  const out = new Uint8Array(12)
  new DataView(out.buffer).setUint32(4, n, true)
  return out
}

t.test('link.json: every write rebuilt from bare ChaChaPoly calls', async (t) => {
  const cellSize = vectors.input.cellSize
  const rekeyCell = new Uint8Array(cellSize)
  rekeyCell[4] = 0xff
  rekeyCell[5] = 1
  let key = unhex(vectors.input.key)
  let n = vectors.input.firstNonce
  let calls = 0
  for (const write of vectors.writes) {
    // Each write here is one batch; the key's last batch (its calls 3 and 4 of 4) ends with REKEY.
    const endsKey = calls + 2 === vectors.input.messagesPerKey
    const cells = [...write.cells.map(unhex), ...(endsKey ? [rekeyCell] : [])]
    const body = new Uint8Array(cells.length * cellSize)
    cells.forEach((c, i) => body.set(c, i * cellSize))
    // flags_count with the end-of-write bit (each write is one batch), the round modulo 2^32, the span.
    const plain = new Uint8Array(7)
    new DataView(plain.buffer).setUint16(0, 0x8000 | cells.length)
    new DataView(plain.buffer).setUint32(2, write.round % 2 ** 32)
    plain[6] = write.span
    const header = aeadSeal(key, nonce(n), null, plain)
    const sealed = aeadSeal(key, nonce(n + 1), null, body)
    t.equal(hex(header) + hex(sealed), write.wire, `write of ${write.cells.length} cell(s)${endsKey ? ' and the REKEY' : ''}`)
    n += 2
    calls += 2
    if (endsKey) {
      key = aeadSeal(key, new Uint8Array(12).fill(0xff, 4), null, new Uint8Array(32)).slice(0, 32)
      t.equal(hex(key), vectors.keys[1], 'Rekey(k) as listed')
      calls = 0
    }
  }
})

t.test('link.json: a BatchReader opens the wire into the listed cells and one REKEY', async (t) => {
  const receive = new CipherState()
  receive.initializeKey(unhex(vectors.input.key))
  const cellSize = vectors.input.cellSize
  const got: string[] = []
  const rounds: number[] = []
  const spans: number[] = []
  let rekeys = 0
  const reader = new BatchReader(cellSize, receive, {
    onBatch (cells, count, endsWrite, round, span) {
      if (endsWrite) { rounds.push(round); spans.push(span) }
      for (let i = 0; i < count; i++) {
        const cell = cells.subarray(i * cellSize, (i + 1) * cellSize)
        if (cell[4] === 0xff && cell[0] === 0) { receive.rekey(); rekeys++ } else got.push(hex(cell))
      }
      return true
    },
    onError (error) { t.fail(error.code) },
  })
  for (const write of vectors.writes) reader.push(unhex(write.wire))
  t.same(got, vectors.writes.flatMap((w) => w.cells))
  t.same(rounds, vectors.writes.map((w) => w.round % 2 ** 32), 'every write ends once, with its round modulo 2^32')
  t.same(spans, vectors.writes.map((w) => w.span), 'and its span')
  t.equal(rekeys, 1)
})
