/**
 * Noise CipherState (Noise spec rev. 34, §5.1) with the ChaChaPoly cipher functions (§12.3).
 *
 * Holds `k` (32 bytes or empty) and the 64-bit nonce `n`. ChaChaPoly's 96-bit nonce is 32 bits
 * of zeros followed by the little-endian encoding of n. The value 2^64-1 is reserved (it is the
 * nonce REKEY uses), so a call with n = 2^64-1 is refused.
 *
 * This object is also the link's transport cipher, run once per cell: n is kept as two 32-bit
 * halves written in place into one preallocated nonce buffer (no BigInt, no allocation per
 * call). `decryptWithAd` returns `null` on an authentication failure instead of throwing,
 * the crypto layer's convention for the data path; n then stays unchanged, as the spec says.
 */
import { AEAD_KEY_BYTES, AEAD_NONCE_BYTES, AEAD_TAG_BYTES, aeadOpen, aeadOpenInto, aeadSeal, aeadSealInto, memzero } from '../../crypto/index.js'
import { NoiseError } from './errors.js'

const MAX_UINT32 = 0xffffffff
const TWO_32 = 2 ** 32
const ZEROS_32 = new Uint8Array(32)
const EMPTY = new Uint8Array(0)
/** REKEY's nonce: 4 zero bytes ‖ LE64(2^64-1). Read-only. */
const MAX_NONCE = new Uint8Array(AEAD_NONCE_BYTES).fill(0xff, 4)

export class CipherState {
  private k: Uint8Array | null = null
  /** n = nHigh * 2^32 + nLow */
  private nLow = 0
  private nHigh = 0
  /** 4 zero bytes ‖ n as 64-bit little-endian, rewritten before every use. */
  private readonly nonce = new Uint8Array(AEAD_NONCE_BYTES)
  private readonly nonceView = new DataView(this.nonce.buffer)

  /** InitializeKey(key): k = key (copied), n = 0. `null` empties k. */
  initializeKey (key: Uint8Array | null): void {
    if (key !== null && key.length !== AEAD_KEY_BYTES) {
      throw new NoiseError('NOISE_STATE', 'a cipher key must be 32 bytes')
    }
    if (this.k !== null) memzero(this.k)
    this.k = key === null ? null : Uint8Array.from(key)
    this.nLow = 0
    this.nHigh = 0
  }

  hasKey (): boolean {
    return this.k !== null
  }

  /** SetNonce(n): for tests and explicit-nonce protocols; mixgate never skips nonces. */
  setNonce (n: bigint): void {
    if (n < 0n || n > 0xffffffffffffffffn) throw new NoiseError('NOISE_STATE', 'nonce out of range')
    this.nLow = Number(n & 0xffffffffn)
    this.nHigh = Number(n >> 32n)
  }

  /** n = 2^64-1: nothing more can be sealed or opened (one compare in the usual case). */
  get exhausted (): boolean {
    return this.nLow === MAX_UINT32 && this.nHigh === MAX_UINT32
  }

  /**
   * How many more messages this state can seal or open (2^64-1 − n): exact while below 2^53,
   * which is all a caller comparing it with a batch size needs.
   */
  get nonceHeadroom (): number {
    return (MAX_UINT32 - this.nHigh) * TWO_32 + (MAX_UINT32 - this.nLow)
  }

  /** The current n, for tests and diagnostics. */
  get nonceValue (): bigint {
    return (BigInt(this.nHigh) << 32n) | BigInt(this.nLow)
  }

  /** EncryptWithAd(ad, plaintext): ciphertext ‖ tag with the current n, then n += 1. */
  encryptWithAd (ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    if (this.k === null) return plaintext
    const sealed = aeadSeal(this.k, this.currentNonce(), ad, plaintext)
    this.increment()
    return sealed
  }

  /**
   * DecryptWithAd(ad, ciphertext): the plaintext and n += 1, or `null` if it does not
   * authenticate (n unchanged). Without a key the input is returned as is (spec).
   */
  decryptWithAd (ad: Uint8Array, ciphertext: Uint8Array): Uint8Array | null {
    if (this.k === null) return ciphertext
    const opened = aeadOpen(this.k, this.currentNonce(), ad, ciphertext)
    if (opened === null) return null
    this.increment()
    return opened
  }

  /**
   * EncryptWithAd into `out` (plaintext + 16 bytes; it may start where `plaintext` does):
   * nothing allocated. Only with a key (the link's transport states always have one).
   */
  encryptInto (out: Uint8Array, ad: Uint8Array, plaintext: Uint8Array): void {
    if (this.k === null) throw new NoiseError('NOISE_MISSING_KEY', 'encryptInto without a key')
    aeadSealInto(out, this.k, this.currentNonce(), ad, plaintext)
    this.increment()
  }

  /**
   * DecryptWithAd into `out` (ciphertext − 16 bytes; in place or apart): true and n += 1, or
   * false if it does not authenticate (n unchanged, `out` unspecified).
   */
  decryptInto (out: Uint8Array, ad: Uint8Array, ciphertext: Uint8Array): boolean {
    if (this.k === null) throw new NoiseError('NOISE_MISSING_KEY', 'decryptInto without a key')
    if (ciphertext.length < AEAD_TAG_BYTES) return false
    if (!aeadOpenInto(out, this.k, this.currentNonce(), ad, ciphertext)) return false
    this.increment()
    return true
  }

  /**
   * Rekey(): k = the first 32 bytes of ENCRYPT(k, 2^64-1, empty, 32 zero bytes) (§4.2, §11.3).
   * n is left alone, as the spec says (§11.3: a key cycle then still cannot repeat a (k, n)
   * pair, and n keeps bounding what one handshake's keys seal). The old k is wiped. The link
   * runs it on each REKEY control cell (link.ts, docs/PROTOCOL.md §8.4).
   */
  rekey (): void {
    if (this.k === null) throw new NoiseError('NOISE_MISSING_KEY', 'rekey without a key')
    const sealed = aeadSeal(this.k, MAX_NONCE, EMPTY, ZEROS_32)
    memzero(this.k)
    this.k = sealed.slice(0, AEAD_KEY_BYTES)
    memzero(sealed)
  }

  /** Forget the key (best effort, see crypto/index.ts `memzero`). */
  wipe (): void {
    if (this.k !== null) memzero(this.k)
    this.k = null
    this.nLow = 0
    this.nHigh = 0
  }

  private currentNonce (): Uint8Array {
    if (this.nLow === MAX_UINT32 && this.nHigh === MAX_UINT32) {
      throw new NoiseError('NOISE_NONCE_EXHAUSTED', 'nonce 2^64-1 is reserved; this cipher is exhausted')
    }
    this.nonceView.setUint32(4, this.nLow, true)
    this.nonceView.setUint32(8, this.nHigh, true)
    return this.nonce
  }

  private increment (): void {
    if (this.nLow === MAX_UINT32) {
      this.nLow = 0
      this.nHigh += 1
    } else {
      this.nLow += 1
    }
  }
}
