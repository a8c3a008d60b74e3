/**
 * Noise SymmetricState (Noise spec rev. 34, §5.2) with HASH = BLAKE2b (§12.8).
 *
 * HASH is unkeyed BLAKE2b-512: HASHLEN = 64, BLOCKLEN = 128. HMAC-HASH is RFC 2104 built on
 * that unkeyed hash (not BLAKE2b's own keyed mode, which Noise does not use), and HKDF is
 * Noise's two- or three-output form (§4.3), which is not RFC 5869 (no info, no length).
 * Keys longer than 32 bytes drawn from HKDF are truncated to 32, as §5.2 says for HASHLEN 64.
 *
 * `ck` and every intermediate secret is wiped when it is replaced; `wipe()` ends the object.
 */
import { AEAD_KEY_BYTES, blake2b, memzero } from '../../crypto/index.js'
import { CipherState } from './cipher-state.js'
import { NoiseError } from './errors.js'

export const HASHLEN = 64
export const BLOCKLEN = 128

const IPAD = 0x36
const OPAD = 0x5c

/** HASH(data): unkeyed BLAKE2b with a 64-byte output. */
export function hash (data: Uint8Array): Uint8Array {
  return blake2b(HASHLEN, data)
}

function concat (a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a, 0)
  out.set(b, a.length)
  return out
}

/** HMAC-HASH(key, data), RFC 2104: H((K ^ opad) ‖ H((K ^ ipad) ‖ data)). */
export function hmac (key: Uint8Array, data: Uint8Array): Uint8Array {
  const block = new Uint8Array(BLOCKLEN)
  if (key.length > BLOCKLEN) {
    const hashed = hash(key)
    block.set(hashed)
    memzero(hashed)
  } else {
    block.set(key)
  }
  const inner = new Uint8Array(BLOCKLEN + data.length)
  for (let i = 0; i < BLOCKLEN; i++) inner[i] = block[i]! ^ IPAD
  inner.set(data, BLOCKLEN)
  const innerHash = hash(inner)
  const outer = new Uint8Array(BLOCKLEN + HASHLEN)
  for (let i = 0; i < BLOCKLEN; i++) outer[i] = block[i]! ^ OPAD
  outer.set(innerHash, BLOCKLEN)
  const mac = hash(outer)
  memzero(block)
  memzero(inner)
  memzero(innerHash)
  memzero(outer)
  return mac
}

/**
 * HKDF(chaining_key, input_key_material, num_outputs) of §4.3:
 * temp_key = HMAC(ck, ikm); output1 = HMAC(temp_key, 0x01);
 * output_i = HMAC(temp_key, output_{i-1} ‖ byte(i)).
 */
export function hkdf (chainingKey: Uint8Array, inputKeyMaterial: Uint8Array, numOutputs: 2 | 3): Uint8Array[] {
  const tempKey = hmac(chainingKey, inputKeyMaterial)
  const outputs: Uint8Array[] = [hmac(tempKey, Uint8Array.of(0x01))]
  for (let i = 2; i <= numOutputs; i++) {
    const input = concat(outputs[i - 2]!, Uint8Array.of(i))
    outputs.push(hmac(tempKey, input))
    memzero(input)
  }
  memzero(tempKey)
  return outputs
}

/** The first 32 bytes of a 64-byte HKDF output, as a fresh array; the output is wiped. */
function truncateToKey (output: Uint8Array): Uint8Array {
  const key = output.slice(0, AEAD_KEY_BYTES)
  memzero(output)
  return key
}

export class SymmetricState {
  private ck: Uint8Array
  private h: Uint8Array
  private readonly cipher = new CipherState()

  /** InitializeSymmetric(protocol_name). */
  constructor (protocolName: string) {
    const name = new TextEncoder().encode(protocolName)
    if (name.length <= HASHLEN) {
      this.h = new Uint8Array(HASHLEN)
      this.h.set(name)
    } else {
      this.h = hash(name)
    }
    this.ck = Uint8Array.from(this.h)
    this.cipher.initializeKey(null)
  }

  /** MixKey(ikm): ck, temp_k = HKDF(ck, ikm, 2); InitializeKey(temp_k truncated to 32). */
  mixKey (inputKeyMaterial: Uint8Array): void {
    const [ck, tempK] = hkdf(this.ck, inputKeyMaterial, 2) as [Uint8Array, Uint8Array]
    memzero(this.ck)
    this.ck = ck
    const key = truncateToKey(tempK)
    this.cipher.initializeKey(key)
    memzero(key)
  }

  /** MixHash(data): h = HASH(h ‖ data). */
  mixHash (data: Uint8Array): void {
    this.h = hash(concat(this.h, data))
  }

  /** GetHandshakeHash(): h, copied (it is public, a channel binding for the session). */
  handshakeHash (): Uint8Array {
    return Uint8Array.from(this.h)
  }

  /** EncryptAndHash(plaintext): ciphertext = EncryptWithAd(h, plaintext); MixHash(ciphertext). */
  encryptAndHash (plaintext: Uint8Array): Uint8Array {
    const ciphertext = this.cipher.encryptWithAd(this.h, plaintext)
    this.mixHash(ciphertext)
    return ciphertext
  }

  /** DecryptAndHash(ciphertext): plaintext = DecryptWithAd(h, ciphertext); MixHash(ciphertext). */
  decryptAndHash (ciphertext: Uint8Array): Uint8Array {
    const plaintext = this.cipher.decryptWithAd(this.h, ciphertext)
    if (plaintext === null) throw new NoiseError('NOISE_DECRYPT_FAILED', 'handshake message did not authenticate')
    this.mixHash(ciphertext)
    return plaintext
  }

  /** True once MixKey has run (every payload after it carries a 16-byte tag). */
  hasKey (): boolean {
    return this.cipher.hasKey()
  }

  /** Split(): temp_k1, temp_k2 = HKDF(ck, empty, 2); two fresh CipherStates (c1, c2). */
  split (): [CipherState, CipherState] {
    const [tempK1, tempK2] = hkdf(this.ck, new Uint8Array(0), 2) as [Uint8Array, Uint8Array]
    const c1 = new CipherState()
    const c2 = new CipherState()
    const k1 = truncateToKey(tempK1)
    const k2 = truncateToKey(tempK2)
    c1.initializeKey(k1)
    c2.initializeKey(k2)
    memzero(k1)
    memzero(k2)
    return [c1, c2]
  }

  /** Wipe ck and the handshake cipher; h survives (it is public). */
  wipe (): void {
    memzero(this.ck)
    this.cipher.wipe()
  }
}
