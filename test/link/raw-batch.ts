/**
 * The batch wire form (PROTOCOL.md §8.4) written out by hand for tests that play a peer with
 * their own ciphers, rather than taken from the code under test:
 *   header = ChaChaPoly(k, n, empty, count(2, BE))   body = ChaChaPoly(k, n + 1, empty, cells)
 */
import type { Socket } from 'node:net'
import type { CipherState } from '../../src/link/noise/cipher-state.js'
import { readExactly } from './loopback.js'
import { concat } from '../helpers/bytes.js'

const EMPTY = new Uint8Array(0)

/** One batch of `cells` as its sender puts it on the wire; `count` overrides the header's count. */
export function rawBatch (send: CipherState, cells: readonly Uint8Array[], count = cells.length): Uint8Array {
  const header = send.encryptWithAd(EMPTY, Uint8Array.of(count >> 8, count & 0xff))
  const body = send.encryptWithAd(EMPTY, concat(cells))
  return concat([header, body])
}

/** Read one batch of `cellSize` cells off a socket and open it; null if header or body fails. */
export async function readRawBatch (socket: Socket, receive: CipherState, cellSize: number): Promise<Uint8Array[] | null> {
  const plain = receive.decryptWithAd(EMPTY, await readExactly(socket, 18))
  if (plain === null) return null
  const count = (plain[0]! << 8) | plain[1]!
  const body = receive.decryptWithAd(EMPTY, await readExactly(socket, count * cellSize + 16))
  if (body === null) return null
  return Array.from({ length: count }, (_, i) => body.slice(i * cellSize, (i + 1) * cellSize))
}
