/**
 * Uniform integers from CSPRNG output drawn in bulk, for the per-round shuffle.
 *
 * Why it exists: in Node, libsodium.js's `randombytes_uniform` fetches every 32-bit word with
 * its own `crypto.randomBytes(4)` call, about 6 µs each on the reference machine, so a
 * Fisher–Yates over a 1000-cell round costs ~6 ms of a 10 ms round. Filling a few kilobytes
 * at once from the same kind of CSPRNG costs a few ns per word (bench/mix-round.ts).
 *
 * The bytes come from `fill`, which must be a CSPRNG (it is meant to be the crypto module's
 * bulk random fill: this module never picks a randomness source itself). The reduction to
 * [0, bound) rejects the lowest 2^32 mod bound words, exactly like libsodium's
 * `randombytes_uniform`, so it has no modulo bias.
 */
import { MixError, MixErrorCode } from './errors.js'

const TWO_POW_32 = 0x1_0000_0000

export class UniformPool {
  private readonly fill: (bytes: Uint8Array) => void
  private readonly words: Uint32Array
  private readonly bytes: Uint8Array
  private position: number

  /** `fill(bytes)` overwrites `bytes` with CSPRNG output; `poolWords` words are drawn per call. */
  constructor (fill: (bytes: Uint8Array) => void, poolWords = 4096) {
    if (!Number.isInteger(poolWords) || poolWords < 1) {
      throw new MixError(MixErrorCode.BAD_OPTION, 'poolWords must be a positive integer')
    }
    this.fill = fill
    this.words = new Uint32Array(poolWords)
    this.bytes = new Uint8Array(this.words.buffer)
    this.position = poolWords
  }

  /** A uniform integer in [0, upperBound); `upperBound` is an integer in [1, 2^32]. */
  readonly uniform = (upperBound: number): number => {
    if (!Number.isInteger(upperBound) || upperBound < 1 || upperBound > TWO_POW_32) {
      throw new MixError(MixErrorCode.BAD_ARGUMENT, 'upperBound must be an integer in [1, 2^32]')
    }
    // Accepting only words >= 2^32 mod bound leaves a range whose size is a multiple of bound.
    const reject = TWO_POW_32 % upperBound
    for (;;) {
      if (this.position === this.words.length) {
        this.fill(this.bytes)
        this.position = 0
      }
      const word = this.words[this.position++]!
      if (word >= reject) return word % upperBound
    }
  }
}
