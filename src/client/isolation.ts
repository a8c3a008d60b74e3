/**
 * Isolation keys: streams with different keys never share a circuit (R13, PROTOCOL.md §11.4).
 */
import type { ConnectRequest } from './socks/index.js'

/** Unshaped: the SOCKS credentials and the destination host (Tor's IsolateSOCKSAuth + IsolateDestAddr). */
export function isolationKey (request: ConnectRequest): string {
  return JSON.stringify([request.username ?? null, request.password ?? null, request.host.toLowerCase()])
}

/**
 * Shaped: the SOCKS credentials only. A shaped client has exactly K circuits: isolating by
 * destination too would leave a page's third-party hosts waiting for a creation slot (a
 * browser gives each site its own credentials, as Tor Browser does).
 */
export function credentialsKey (request: ConnectRequest): string {
  return JSON.stringify([request.username ?? null, request.password ?? null])
}
