/**
 * Noise HandshakeState (Noise spec rev. 34, §5.3) for exactly the two patterns mixgate uses.
 *
 *   Noise_NK_25519_ChaChaPoly_BLAKE2b   client → entry mix
 *     <- s
 *     ...
 *     -> e, es
 *     <- e, ee
 *
 *   Noise_KK_25519_ChaChaPoly_BLAKE2b   mix → mix, mix → exit (both statics pinned)
 *     -> s
 *     <- s
 *     ...
 *     -> e, es, ss
 *     <- e, ee, se
 *
 * Both messages of both patterns are `e` (32 bytes) ‖ EncryptAndHash(payload), and mixgate's
 * payloads are always empty (DESIGN-REVIEW R11: an NK first payload is replayable and has no
 * forward secrecy), so every handshake message is exactly 48 bytes. A non-empty payload is
 * refused on write and on read; `allowPayloads` lifts that only for the published test
 * vectors, which carry payloads.
 *
 * After the last message the state calls Split(), keeps the two transport CipherStates by
 * direction, and wipes what it no longer needs: ck, the handshake cipher key, every DH result
 * and the ephemeral secret. The local static key belongs to the caller and is left alone.
 */
import { CryptoError, type KeyPair, X25519_KEY_BYTES, AEAD_TAG_BYTES, memzero, x25519, x25519KeyPair } from '../../crypto/index.js'
import type { CipherState } from './cipher-state.js'
import { NoiseError } from './errors.js'
import { SymmetricState } from './symmetric-state.js'

export type HandshakePattern = 'NK' | 'KK'

type Token = 'e' | 'ee' | 'es' | 'se' | 'ss'

interface PatternSpec {
  readonly protocolName: string
  /** `-> s` pre-message: the responder knows the initiator's static in advance. */
  readonly initiatorStaticKnown: boolean
  /** `<- s` pre-message: the initiator knows the responder's static in advance. */
  readonly responderStaticKnown: boolean
  readonly messages: readonly (readonly Token[])[]
}

const PATTERNS: Record<HandshakePattern, PatternSpec> = {
  NK: {
    protocolName: 'Noise_NK_25519_ChaChaPoly_BLAKE2b',
    initiatorStaticKnown: false,
    responderStaticKnown: true,
    messages: [['e', 'es'], ['e', 'ee']],
  },
  KK: {
    protocolName: 'Noise_KK_25519_ChaChaPoly_BLAKE2b',
    initiatorStaticKnown: true,
    responderStaticKnown: true,
    messages: [['e', 'es', 'ss'], ['e', 'ee', 'se']],
  },
}

/** Every mixgate handshake message: an ephemeral public key and the tag of an empty payload. */
export const HANDSHAKE_MESSAGE_BYTES = X25519_KEY_BYTES + AEAD_TAG_BYTES

export function protocolName (pattern: HandshakePattern): string {
  return PATTERNS[pattern].protocolName
}

export interface HandshakeOptions {
  readonly pattern: HandshakePattern
  readonly initiator: boolean
  readonly prologue: Uint8Array
  /** Local static key pair: the NK responder, both KK parties. */
  readonly s?: KeyPair
  /** The peer's pinned static public key: the NK initiator, both KK parties. */
  readonly rs?: Uint8Array
  /** A fixed ephemeral key pair, for test vectors only; the handshake wipes its secret. */
  readonly e?: KeyPair
  /** Accept non-empty handshake payloads (test vectors only; the link layer never sets it). */
  readonly allowPayloads?: boolean
}

export interface TransportCiphers {
  /** Seals what this side sends (initiator: c1, responder: c2). */
  readonly send: CipherState
  /** Opens what this side receives. */
  readonly receive: CipherState
  /** h after the last message: equal on both sides, public, usable as a channel binding. */
  readonly handshakeHash: Uint8Array
}

function concat (parts: Uint8Array[]): Uint8Array {
  let length = 0
  for (const part of parts) length += part.length
  const out = new Uint8Array(length)
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

export class HandshakeState {
  private readonly spec: PatternSpec
  private readonly initiator: boolean
  private readonly allowPayloads: boolean
  private readonly symmetric: SymmetricState
  private readonly s: KeyPair | null
  private e: KeyPair | null
  private readonly rs: Uint8Array | null
  private re: Uint8Array | null = null
  private messageIndex = 0
  private failed = false
  private result: TransportCiphers | null = null

  /** Initialize(handshake_pattern, initiator, prologue, s, e, rs, re). */
  constructor (options: HandshakeOptions) {
    this.spec = PATTERNS[options.pattern]
    this.initiator = options.initiator
    this.allowPayloads = options.allowPayloads === true
    this.s = options.s ?? null
    this.e = options.e === undefined ? null : { publicKey: Uint8Array.from(options.e.publicKey), secretKey: options.e.secretKey }
    this.rs = options.rs === undefined ? null : Uint8Array.from(options.rs)

    const needsLocalStatic = this.initiator ? this.spec.initiatorStaticKnown : this.spec.responderStaticKnown
    const needsRemoteStatic = this.initiator ? this.spec.responderStaticKnown : this.spec.initiatorStaticKnown
    if (needsLocalStatic && this.s === null) throw new NoiseError('NOISE_MISSING_KEY', 'this role needs a local static key pair')
    if (needsRemoteStatic && this.rs === null) throw new NoiseError('NOISE_MISSING_KEY', 'this role needs the peer\'s static public key')
    if (this.rs !== null && this.rs.length !== X25519_KEY_BYTES) throw new NoiseError('NOISE_BAD_KEY', 'a static public key must be 32 bytes')

    this.symmetric = new SymmetricState(this.spec.protocolName)
    this.symmetric.mixHash(options.prologue)
    // Pre-messages: the initiator's `-> s` first, then the responder's `<- s`.
    if (this.spec.initiatorStaticKnown) this.symmetric.mixHash(this.initiator ? this.s!.publicKey : this.rs!)
    if (this.spec.responderStaticKnown) this.symmetric.mixHash(this.initiator ? this.rs! : this.s!.publicKey)
  }

  /** True after the last handshake message has been written or read. */
  get complete (): boolean {
    return this.result !== null
  }

  /** True when the next step is writeMessage (false: readMessage). */
  get isMyTurn (): boolean {
    return (this.messageIndex % 2 === 0) === this.initiator
  }

  /** WriteMessage(payload): the message to send; Split() runs after the last one. */
  writeMessage (payload: Uint8Array): Uint8Array {
    this.checkTurn(true)
    if (!this.allowPayloads && payload.length !== 0) {
      throw new NoiseError('NOISE_PAYLOAD_NOT_EMPTY', 'mixgate handshake payloads are empty')
    }
    return this.guard(() => {
      const parts: Uint8Array[] = []
      for (const token of this.spec.messages[this.messageIndex]!) {
        if (token === 'e') {
          if (this.e === null) this.e = x25519KeyPair()
          parts.push(Uint8Array.from(this.e.publicKey))
          this.symmetric.mixHash(this.e.publicKey)
        } else {
          this.mixDh(token)
        }
      }
      parts.push(this.symmetric.encryptAndHash(payload))
      this.advance()
      return concat(parts)
    })
  }

  /** ReadMessage(message): the payload; throws NoiseError if the message is refused. */
  readMessage (message: Uint8Array): Uint8Array {
    this.checkTurn(false)
    return this.guard(() => {
      let offset = 0
      for (const token of this.spec.messages[this.messageIndex]!) {
        if (token === 'e') {
          if (message.length - offset < X25519_KEY_BYTES) throw new NoiseError('NOISE_BAD_MESSAGE', 'handshake message too short')
          this.re = message.slice(offset, offset + X25519_KEY_BYTES)
          offset += X25519_KEY_BYTES
          this.symmetric.mixHash(this.re)
        } else {
          this.mixDh(token)
        }
      }
      const rest = message.subarray(offset)
      if (this.symmetric.hasKey() && rest.length < AEAD_TAG_BYTES) throw new NoiseError('NOISE_BAD_MESSAGE', 'handshake message too short')
      const payload = this.symmetric.decryptAndHash(rest)
      if (!this.allowPayloads && payload.length !== 0) {
        throw new NoiseError('NOISE_PAYLOAD_NOT_EMPTY', 'mixgate handshake payloads are empty')
      }
      this.advance()
      return payload
    })
  }

  /** The transport ciphers; only after the handshake completed. */
  transport (): TransportCiphers {
    if (this.result === null) throw new NoiseError('NOISE_STATE', 'handshake not complete')
    return this.result
  }

  /** Abandon the handshake and wipe its secrets (safe to call at any time). */
  wipe (): void {
    this.symmetric.wipe()
    if (this.e !== null) memzero(this.e.secretKey)
    this.e = null
  }

  private checkTurn (writing: boolean): void {
    if (this.failed) throw new NoiseError('NOISE_STATE', 'handshake already failed')
    if (this.result !== null) throw new NoiseError('NOISE_STATE', 'handshake already complete')
    if (this.isMyTurn !== writing) throw new NoiseError('NOISE_STATE', writing ? 'not our turn to write' : 'not our turn to read')
  }

  /** Any failure leaves the state dead and wiped: a half-run handshake is never resumed. */
  private guard<T> (step: () => T): T {
    try {
      return step()
    } catch (err) {
      this.failed = true
      this.wipe()
      throw err
    }
  }

  /** ee, es, se, ss: MixKey(DH(local, remote)) with the keys the token names for this role. */
  private mixDh (token: Exclude<Token, 'e'>): void {
    let local: KeyPair | null
    let remote: Uint8Array | null
    switch (token) {
      case 'ee': local = this.e; remote = this.re; break
      case 'es': [local, remote] = this.initiator ? [this.e, this.rs] : [this.s, this.re]; break
      case 'se': [local, remote] = this.initiator ? [this.s, this.re] : [this.e, this.rs]; break
      case 'ss': local = this.s; remote = this.rs; break
    }
    if (local === null || remote === null) throw new NoiseError('NOISE_STATE', 'a key the pattern needs is missing')
    let shared: Uint8Array
    try {
      shared = x25519(local.secretKey, remote)
    } catch (err) {
      if (err instanceof CryptoError) throw new NoiseError('NOISE_BAD_KEY', 'peer sent an unusable X25519 value', { cause: err })
      throw err
    }
    this.symmetric.mixKey(shared)
    memzero(shared)
  }

  private advance (): void {
    this.messageIndex += 1
    if (this.messageIndex < this.spec.messages.length) return
    const [c1, c2] = this.symmetric.split()
    this.result = {
      send: this.initiator ? c1 : c2,
      receive: this.initiator ? c2 : c1,
      handshakeHash: this.symmetric.handshakeHash(),
    }
    this.wipe()
  }
}
