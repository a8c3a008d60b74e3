/**
 * Opens a link to a peer: TCP connect, Noise handshake as initiator, then a Link.
 *
 * NK (client → entry): the peer's static key is pinned (from the descriptor) and the client
 * has none. KK (mix → mix, mix → exit): both statics are pinned; `localStatic` is ours. The
 * whole of connect + handshake runs under one deadline (handshakeTimeoutMs, default 5 s).
 * Resolves with the Link, or rejects with a LinkError (see handshake-io.ts for the codes).
 */
import type { KeyPair } from '../crypto/index.js'
import { HandshakeState, type HandshakePattern } from './noise/handshake.js'
import { DEFAULT_FRAME_TIMEOUT_MS, DEFAULT_HANDSHAKE_TIMEOUT_MS } from './constants.js'
import { runHandshake } from './handshake-io.js'
import { DEFAULT_REKEY_INTERVAL_MS, checkRekeyOptions } from './link-control.js'
import type { Link } from './link.js'
import { badOptions, checkCellSize, checkKeyPair, checkPattern, checkPrologue, checkPublicKey, checkTimeout } from './options.js'
import { connectWithSharedReads } from '../base/socket-reads.js'

export interface DialOptions {
  readonly host: string
  readonly port: number
  readonly cellSize: number
  readonly pattern: HandshakePattern
  /** KK only: our static key pair. Must be absent for NK (the client stays anonymous). */
  readonly localStatic?: KeyPair
  /** The responder's static public key, pinned. */
  readonly remoteStatic: Uint8Array
  /** `"mixgate/v1" ‖ cascadeId(32) ‖ position(1)`; must equal the responder's. */
  readonly prologue: Uint8Array
  readonly handshakeTimeoutMs?: number
  readonly frameTimeoutMs?: number
  /** Rekey our sending direction at least this often (nodes pass the epoch length; default 1 h). */
  readonly rekeyMs?: number
}

export async function dialLink (options: DialOptions): Promise<Link> {
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS
  const frameTimeoutMs = options.frameTimeoutMs ?? DEFAULT_FRAME_TIMEOUT_MS
  const rekeyMs = options.rekeyMs ?? DEFAULT_REKEY_INTERVAL_MS
  checkPattern(options.pattern)
  checkCellSize(options.cellSize)
  checkPublicKey(options.remoteStatic, 'remoteStatic')
  checkPrologue(options.prologue)
  checkTimeout(handshakeTimeoutMs, 'handshakeTimeoutMs')
  checkTimeout(frameTimeoutMs, 'frameTimeoutMs')
  checkRekeyOptions(options.cellSize, rekeyMs)
  if (options.pattern === 'KK') checkKeyPair(options.localStatic, 'localStatic')
  if (options.pattern === 'NK' && options.localStatic !== undefined) throw badOptions('an NK initiator has no static key')

  const handshake = new HandshakeState({
    pattern: options.pattern,
    initiator: true,
    prologue: options.prologue,
    rs: options.remoteStatic,
    ...(options.pattern === 'KK' ? { s: options.localStatic! } : {}),
  })
  // Read into this thread's shared buffer (socket-reads.ts): no fresh 64 KiB per read.
  const socket = connectWithSharedReads({ host: options.host, port: options.port })
  socket.setNoDelay(true)
  return await runHandshake(socket, handshake, {
    pattern: options.pattern,
    initiator: true,
    timeoutMs: handshakeTimeoutMs,
    cellSize: options.cellSize,
    frameTimeoutMs,
    rekeyMs,
  })
}
