/**
 * Isolation keys: streams with different keys never share a circuit (R13, PROTOCOL.md §11.4).
 */
import type { ConnectRequest } from './socks/index.js'

/** What isolation reads of a request: a CONNECT's, or a RESOLVE's (whose host is the name or address asked about). */
export type IsolationFields = Pick<ConnectRequest, 'host' | 'username' | 'password'>

/** Unshaped: the SOCKS credentials and the destination host (Tor's IsolateSOCKSAuth + IsolateDestAddr). */
export function isolationKey (request: IsolationFields): string {
  return JSON.stringify([request.username ?? null, request.password ?? null, request.host.toLowerCase()])
}

/**
 * Shaped: the SOCKS credentials only. A shaped client has exactly K circuits: isolating by
 * destination too would leave a page's third-party hosts waiting for a creation slot (a
 * browser gives each site its own credentials, as Tor Browser does).
 */
export function credentialsKey (request: IsolationFields): string {
  return JSON.stringify([request.username ?? null, request.password ?? null])
}
