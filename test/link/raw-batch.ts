/**
 * The batch wire form (PROTOCOL.md §8.4) written out by hand for tests that play a peer with
 * their own ciphers, rather than taken from the code under test:
 *   header = ChaChaPoly(k, n, empty, flags_count(2, BE) ‖ round(4, BE) ‖ span(1))   body = ChaChaPoly(k, n + 1, empty, cells)
 * flags_count's top bit marks a write's last batch.
 */
import type { Socket } from 'node:net'
import type { CipherState } from '../../src/link/noise/cipher-state.js'
import { readExactly } from './loopback.js'
import { concat } from '../helpers/bytes.js'

const EMPTY = new Uint8Array(0)

/** A sealed header: 7 bytes of plaintext and a 16-byte tag. */
export const RAW_HEADER_BYTES = 23

/** One batch of `cells` as its sender puts it on the wire, a whole write of `round` (span `span`) by default; `count` overrides the header's count. */
export function rawBatch (send: CipherState, cells: readonly Uint8Array[], count = cells.length, endsWrite = true, round = 0, span = 0): Uint8Array {
  const plain = new Uint8Array(7)
  const view = new DataView(plain.buffer)
  view.setUint16(0, (endsWrite ? 0x8000 : 0) | count)
  view.setUint32(2, round)
  plain[6] = span
  const header = send.encryptWithAd(EMPTY, plain)
  const body = send.encryptWithAd(EMPTY, concat(cells))
  return concat([header, body])
}

/** Read one batch of `cellSize` cells off a socket and open it; null if header or body fails. */
export async function readRawBatch (socket: Socket, receive: CipherState, cellSize: number): Promise<Uint8Array[] | null> {
  const plain = receive.decryptWithAd(EMPTY, await readExactly(socket, RAW_HEADER_BYTES))
  if (plain === null) return null
  const count = ((plain[0]! & 0x7f) << 8) | plain[1]!
  const body = receive.decryptWithAd(EMPTY, await readExactly(socket, count * cellSize + 16))
  if (body === null) return null
  return Array.from({ length: count }, (_, i) => body.slice(i * cellSize, (i + 1) * cellSize))
}
