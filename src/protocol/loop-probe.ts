/**
 * The data of a LOOP cell: a probe only the client that sent it can read (DESIGN "Shaping and
 * cover", issue #5 "Loops and accountability").
 *
 *   probe = nonce(24) ‖ XChaCha20-Poly1305(key, nonce, ad = "mixgate/v1/loop", seq(8) ‖ sentMs(8))
 *         = 56 bytes; integers big-endian
 *
 * The exit echoes LOOP data unchanged and cannot read it (the key never leaves the client), so
 * it learns neither the client's clock nor the probe's number; nor can any hop forge an echo
 * for a probe it dropped — a forged or altered probe fails to open, and a probe echoed twice
 * is caught by its sequence number (the caller keeps the set of probes in flight). That is
 * what makes loop loss a measurement a misbehaving hop cannot fake.
 */
import { randomBytes, randomFill, memzero, xaeadOpen, xaeadSeal, AEAD_KEY_BYTES, AEAD_TAG_BYTES, XAEAD_NONCE_BYTES } from '../crypto/index.js'
import { LOOP_PROBE_AD } from './labels.js'

const CLEAR_BYTES = 16
export const LOOP_PROBE_BYTES = XAEAD_NONCE_BYTES + CLEAR_BYTES + AEAD_TAG_BYTES

export interface LoopProbe {
  /** The sender's number for this probe (unique per key). */
  readonly seq: number
  /** When it was sent, in the sender's milliseconds. */
  readonly sentMs: number
}

/** Seals and opens the probes of one client (one key for all its circuits, or one per circuit). */
export class LoopProbeKey {
  private readonly key: Uint8Array
  private readonly clear = new Uint8Array(CLEAR_BYTES)
  private readonly view = new DataView(this.clear.buffer)

  /** `key` fixes the key (test vectors only); otherwise a fresh random one. */
  constructor (key?: Uint8Array) {
    if (key !== undefined && key.length !== AEAD_KEY_BYTES) throw new RangeError(`a loop probe key is ${AEAD_KEY_BYTES} bytes`)
    this.key = key === undefined ? randomBytes(AEAD_KEY_BYTES) : Uint8Array.from(key)
  }

  /** A probe for `seq` sent at `sentMs` (both non-negative safe integers). */
  seal (probe: LoopProbe, nonce?: Uint8Array): Uint8Array {
    checkField('seq', probe.seq)
    checkField('sentMs', probe.sentMs)
    this.view.setBigUint64(0, BigInt(probe.seq))
    this.view.setBigUint64(8, BigInt(probe.sentMs))
    const out = new Uint8Array(LOOP_PROBE_BYTES)
    const n = out.subarray(0, XAEAD_NONCE_BYTES)
    if (nonce === undefined) randomFill(n)
    else n.set(nonce)
    out.set(xaeadSeal(this.key, n, LOOP_PROBE_AD, this.clear), XAEAD_NONCE_BYTES)
    this.clear.fill(0)
    return out
  }

  /**
   * Open echoed LOOP data: the probe, or null if it is not one of ours unaltered. Bytes after
   * the probe (the relay payload's zero padding) are ignored.
   */
  open (data: Uint8Array): LoopProbe | null {
    if (data.length < LOOP_PROBE_BYTES) return null
    const clear = xaeadOpen(this.key, data.subarray(0, XAEAD_NONCE_BYTES), LOOP_PROBE_AD, data.subarray(XAEAD_NONCE_BYTES, LOOP_PROBE_BYTES))
    if (clear === null) return null
    const view = new DataView(clear.buffer, clear.byteOffset, clear.byteLength)
    const seq = view.getBigUint64(0)
    const sentMs = view.getBigUint64(8)
    if (seq > BigInt(Number.MAX_SAFE_INTEGER) || sentMs > BigInt(Number.MAX_SAFE_INTEGER)) return null
    return { seq: Number(seq), sentMs: Number(sentMs) }
  }

  /** Erase the key (the client stops). */
  wipe (): void { memzero(this.key) }
}

function checkField (name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`loop probe ${name} must be a non-negative safe integer, got ${value}`)
}
