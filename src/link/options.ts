/**
 * Checks shared by dialLink and listenLinks: sizes, keys and timeouts, refused with
 * LinkError('LINK_BAD_OPTIONS') before any socket is opened.
 */
import { X25519_KEY_BYTES, type KeyPair } from '../crypto/index.js'
import { MAX_LINK_CELL_BYTES } from './constants.js'
import { LinkError, LinkErrorCode } from './errors.js'

export function badOptions (message: string): LinkError {
  return new LinkError(LinkErrorCode.BAD_OPTIONS, message)
}

export function checkCellSize (cellSize: number): void {
  if (!Number.isInteger(cellSize) || cellSize < 1 || cellSize > MAX_LINK_CELL_BYTES) {
    throw badOptions(`cellSize must be an integer from 1 to ${MAX_LINK_CELL_BYTES}`)
  }
}

export function checkPattern (pattern: string): void {
  if (pattern !== 'NK' && pattern !== 'KK') throw badOptions('pattern must be NK or KK')
}

export function checkPublicKey (key: Uint8Array | undefined, what: string): void {
  if (!(key instanceof Uint8Array) || key.length !== X25519_KEY_BYTES) throw badOptions(`${what} must be a 32-byte X25519 public key`)
}

export function checkKeyPair (pair: KeyPair | undefined, what: string): void {
  if (pair === undefined || !(pair.publicKey instanceof Uint8Array) || !(pair.secretKey instanceof Uint8Array) ||
    pair.publicKey.length !== X25519_KEY_BYTES || pair.secretKey.length !== X25519_KEY_BYTES) {
    throw badOptions(`${what} must be an X25519 key pair`)
  }
}

export function checkTimeout (ms: number, what: string): void {
  if (!Number.isFinite(ms) || ms <= 0) throw badOptions(`${what} must be a positive number of milliseconds`)
}

export function checkPrologue (prologue: Uint8Array): void {
  if (!(prologue instanceof Uint8Array)) throw badOptions('prologue must be bytes')
}
