/**
 * FrameDecoder: the same frames come out whatever the chunk boundaries; at most one partial
 * frame is held; whole frames inside a chunk are views, not copies; a sink can stop it.
 */
import t from 'tap'
import fc from 'fast-check'
import { FrameDecoder } from '../../src/link/frame-decoder.js'
import { concat, chunked } from '../helpers/bytes.js'

t.test('any chunking yields the same frames, holding less than one frame', async (t) => {
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 80 }),
    fc.integer({ min: 0, max: 12 }),
    fc.array(fc.nat(), { maxLength: 40 }),
    fc.integer({ min: 0, max: 79 }),
    (frameSize, frameCount, cuts, tail) => {
      const frames = Array.from({ length: frameCount }, (_, i) =>
        Uint8Array.from({ length: frameSize }, (_, j) => (i * 31 + j * 7) & 0xff))
      const trailing = new Uint8Array(tail % frameSize).fill(0xee)
      const stream = concat([...frames, trailing])
      const seen: Uint8Array[] = []
      const decoder = new FrameDecoder(frameSize, (frame) => { seen.push(frame.slice()); return true })
      for (const piece of chunked(stream, cuts)) {
        if (decoder.push(piece) !== piece.length) return false
        if (decoder.pendingBytes >= frameSize) return false
      }
      return decoder.framesDecoded === frameCount &&
        decoder.pendingBytes === trailing.length &&
        seen.length === frameCount &&
        seen.every((f, i) => Buffer.compare(f, frames[i]!) === 0)
    }), { numRuns: 500 })
  t.pass('500 random chunkings agreed')
})

t.test('a frame wholly inside a chunk is a view of that chunk (no copy)', async (t) => {
  const chunkBytes = new Uint8Array(10).map((_, i) => i)
  const frames: Uint8Array[] = []
  const decoder = new FrameDecoder(4, (frame) => { frames.push(frame); return true })
  decoder.push(chunkBytes)
  t.equal(frames.length, 2)
  t.equal(frames[0]!.buffer, chunkBytes.buffer)
  t.equal(frames[1]!.byteOffset, chunkBytes.byteOffset + 4)
  t.equal(decoder.pendingBytes, 2)
})

t.test('a sink returning false stops decoding and push reports where', async (t) => {
  const decoder = new FrameDecoder(3, () => false)
  t.equal(decoder.push(Uint8Array.of(1, 2, 3, 4, 5, 6, 7)), 3, 'stopped after the first frame')
  t.equal(decoder.pendingBytes, 0)
  const straddle = new FrameDecoder(3, () => false)
  t.equal(straddle.push(Uint8Array.of(1, 2)), 2)
  t.equal(straddle.push(Uint8Array.of(3, 4, 5)), 1, 'stopped after completing the partial frame')
  straddle.push(Uint8Array.of(9))
  straddle.reset()
  t.equal(straddle.pendingBytes, 0)
  t.throws(() => new FrameDecoder(0, () => true))
})
