/**
 * The CREATE header: a nested onion of per-hop ephemerals (DESIGN "Circuit setup", R4 fix A).
 *
 * For a path of H hops and a body of B bytes, layer i (1-based) is S_i = B − (i−1)·56 bytes:
 *
 *   H_i = E_i(32) ‖ AEAD(k_i, nonce = 0¹², ad = "mixgate/v1/create" ‖ epoch(8) ‖ i(1),
 *                        params_i(8) ‖ H_{i+1})            with H_{H+1} = zeros
 *   params_i = version(1) = 1 ‖ i(1) ‖ H(1) ‖ flags(1) = 0 ‖ reserved(4) = 0
 *
 * so the header always fills the whole CREATE body, whatever the path length. Hop i does one
 * X25519 with its epoch key, derives k_i (hop-keys.ts), opens its layer — which
 * authenticates every byte it will forward — checks params, and forwards H_{i+1} followed by
 * zeros up to B: it never copies a byte it did not authenticate (R7). The replay tag comes
 * from the shared secret, and only after the layer authenticated (R6).
 *
 * Each header key is used for exactly one message, so the all-zero AEAD nonce is safe.
 */
import {
  aeadOpen, aeadSeal, AEAD_NONCE_BYTES, AEAD_TAG_BYTES, CryptoError, memzero, x25519, x25519KeyPair,
  X25519_KEY_BYTES, type KeyPair,
} from '../crypto/index.js'
import { ProtocolError, ProtocolErrorCode } from './errors.js'
import { ONION_PARAMS_BYTES, type Geometry } from './geometry.js'
import { deriveHop, encodeEpoch, EPOCH_BYTES, type CircuitBinding, type HopKeys } from './hop-keys.js'
import { CREATE_AD_LABEL } from './labels.js'

export const ONION_VERSION = 1
const ZERO_NONCE = new Uint8Array(AEAD_NONCE_BYTES)

export interface OnionContext extends CircuitBinding {
  readonly geometry: Geometry
}

export interface CreatedOnion {
  /** The CREATE body (geometry.bodyBytes). */
  readonly header: Uint8Array
  /** Layer keys of hops 1..H, in path order. */
  readonly hopKeys: HopKeys[]
  /** The replay tag each hop will compute (for tests and diagnostics). */
  readonly replayTags: Uint8Array[]
}

export interface OpenedOnion {
  readonly replayTag: Uint8Array
  readonly keys: HopKeys
  /** The CREATE body to forward to hop i+1, or `null` at the last hop. */
  readonly next: Uint8Array | null
}

/**
 * Build a CREATE header for hops with the given epoch public keys (in path order).
 * `ephemeralSecrets` fixes the per-hop ephemerals (test vectors only).
 */
export function createOnion (hopPublicKeys: readonly Uint8Array[], context: OnionContext, ephemeralSecrets?: readonly Uint8Array[]): CreatedOnion {
  const { geometry } = context
  const hops = hopPublicKeys.length
  if (hops !== geometry.hops) {
    throw new ProtocolError(ProtocolErrorCode.ONION_BAD_PATH, `path has ${hops} hop keys, geometry says ${geometry.hops}`)
  }
  const hopKeys: HopKeys[] = new Array(hops)
  const replayTags: Uint8Array[] = new Array(hops)
  const headerKeys: Uint8Array[] = new Array(hops)
  const ephemeralPublics: Uint8Array[] = new Array(hops)
  for (let i = 0; i < hops; i++) {
    const ephemeral = x25519KeyPair(ephemeralSecrets?.[i])
    let shared: Uint8Array
    try {
      shared = x25519(ephemeral.secretKey, hopPublicKeys[i]!)
    } catch (err) {
      throw asBadPoint(err)
    } finally {
      memzero(ephemeral.secretKey)
    }
    const derived = deriveHop(shared, context, i + 1, ephemeral.publicKey, hopPublicKeys[i]!)
    memzero(shared)
    hopKeys[i] = derived.keys
    replayTags[i] = derived.replayTag
    headerKeys[i] = derived.headerKey
    ephemeralPublics[i] = ephemeral.publicKey
  }
  // Build from the innermost layer outward: H_{H+1} is all zeros.
  let inner = new Uint8Array(geometry.onionLayerBytes(hops) - X25519_KEY_BYTES - AEAD_TAG_BYTES - ONION_PARAMS_BYTES)
  for (let i = hops; i >= 1; i--) {
    const plaintext = new Uint8Array(ONION_PARAMS_BYTES + inner.length)
    writeParams(plaintext, i, hops)
    plaintext.set(inner, ONION_PARAMS_BYTES)
    const sealed = aeadSeal(headerKeys[i - 1]!, ZERO_NONCE, layerAd(context.epoch, i), plaintext)
    memzero(headerKeys[i - 1]!)
    const layer = new Uint8Array(X25519_KEY_BYTES + sealed.length)
    layer.set(ephemeralPublics[i - 1]!, 0)
    layer.set(sealed, X25519_KEY_BYTES)
    inner = layer
  }
  return { header: inner, hopKeys, replayTags }
}

/**
 * Open this hop's layer of a CREATE body. Throws `ProtocolError` for a malformed ephemeral
 * (ONION_BAD_POINT), a layer that does not authenticate (ONION_AUTH_FAILED) or params that
 * do not match this hop (ONION_BAD_PARAMS). Nothing is derived from unauthenticated bytes.
 */
export function openOnion (hopKeyPair: KeyPair, position: number, body: Uint8Array, context: OnionContext): OpenedOnion {
  const { geometry } = context
  if (body.length !== geometry.bodyBytes) {
    throw new ProtocolError(ProtocolErrorCode.ONION_BAD_LENGTH, `a CREATE body is ${geometry.bodyBytes} bytes, got ${body.length}`)
  }
  if (!Number.isInteger(position) || position < 1 || position > geometry.hops) {
    throw new ProtocolError(ProtocolErrorCode.ONION_BAD_PATH, `hop position must be 1..${geometry.hops}`)
  }
  const layerBytes = geometry.onionLayerBytes(position)
  const ephemeralPublic = body.subarray(0, X25519_KEY_BYTES)
  let shared: Uint8Array
  try {
    shared = x25519(hopKeyPair.secretKey, ephemeralPublic)
  } catch (err) {
    throw asBadPoint(err)
  }
  const derived = deriveHop(shared, context, position, ephemeralPublic, hopKeyPair.publicKey)
  memzero(shared)
  const plaintext = aeadOpen(derived.headerKey, ZERO_NONCE, layerAd(context.epoch, position), body.subarray(X25519_KEY_BYTES, layerBytes))
  memzero(derived.headerKey)
  if (plaintext === null) {
    memzero(derived.keys.forward); memzero(derived.keys.backward); memzero(derived.replayTag)
    throw new ProtocolError(ProtocolErrorCode.ONION_AUTH_FAILED, 'CREATE layer does not authenticate')
  }
  if (!paramsMatch(plaintext, position, geometry.hops)) {
    memzero(derived.keys.forward); memzero(derived.keys.backward); memzero(derived.replayTag)
    throw new ProtocolError(ProtocolErrorCode.ONION_BAD_PARAMS, 'CREATE layer parameters do not match this hop')
  }
  let next: Uint8Array | null = null
  if (position < geometry.hops) {
    next = new Uint8Array(geometry.bodyBytes)
    next.set(plaintext.subarray(ONION_PARAMS_BYTES))
  }
  return { replayTag: derived.replayTag, keys: derived.keys, next }
}

function writeParams (out: Uint8Array, position: number, hops: number): void {
  out[0] = ONION_VERSION
  out[1] = position
  out[2] = hops
  // flags and reserved bytes stay zero in version 1.
}

function paramsMatch (plaintext: Uint8Array, position: number, hops: number): boolean {
  let reserved = 0
  for (let i = 3; i < ONION_PARAMS_BYTES; i++) reserved |= plaintext[i]!
  return plaintext[0] === ONION_VERSION && plaintext[1] === position && plaintext[2] === hops && reserved === 0
}

function layerAd (epoch: number, position: number): Uint8Array {
  const ad = new Uint8Array(CREATE_AD_LABEL.length + EPOCH_BYTES + 1)
  ad.set(CREATE_AD_LABEL, 0)
  encodeEpoch(epoch, ad, CREATE_AD_LABEL.length)
  ad[ad.length - 1] = position
  return ad
}

function asBadPoint (err: unknown): unknown {
  if (err instanceof CryptoError) return new ProtocolError(ProtocolErrorCode.ONION_BAD_POINT, 'CREATE ephemeral is not a valid X25519 public value', { cause: err })
  return err
}
