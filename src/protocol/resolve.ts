/**
 * The bodies of relay RESOLVE (client → exit) and RESOLVED (exit → client): a DNS lookup done
 * by the exit's resolver, for the SOCKS RESOLVE (0xF0) and RESOLVE_PTR (0xF1) commands that
 * Tor adds to SOCKS (PROTOCOL.md §7.2).
 *
 *   RESOLVE  = atyp(1) ‖ address                  nothing may follow the address
 *              atyp 3 (a name): look up its addresses · atyp 1, 4 (an address): look up its name
 *   RESOLVED = answer ‖ answer ‖ …                 the answers fill the data exactly
 *   answer   = atyp(1) ‖ address                   (relay-address.ts)
 *
 * A RESOLVED holds either one or more addresses (atyp 1 and 4, the answer to a name) or
 * exactly one name (atyp 3, the answer to an address); anything else is malformed. A lookup
 * that fails is answered with END(reason) instead, as a BEGIN is.
 */
import { ProtocolError, ProtocolErrorCode } from './errors.js'
import { AddressType, decodeRelayAddress, encodeRelayAddress } from './relay-address.js'

export interface ResolveQuery {
  /** The name to look up (forward), or the IP literal whose name is wanted (reverse). */
  readonly host: string
  /** True when `host` is an address (atyp 1 or 4): a PTR lookup. */
  readonly reverse: boolean
}

export interface ResolveAnswer {
  readonly addressType: AddressType
  /** Dotted quad, eight hex groups (IPv6), or a name. */
  readonly host: string
}

/** A RESOLVE body: an IP literal asks for its name (PTR), anything else is a name to look up. */
export function encodeResolve (host: string): Uint8Array {
  return encodeRelayAddress(host)
}

export function decodeResolve (body: Uint8Array): ResolveQuery {
  const address = decodeRelayAddress(body, 0, 'RESOLVE')
  if (address.bytesRead !== body.length) throw bad('RESOLVE has bytes after its address')
  return { host: address.host, reverse: address.addressType !== AddressType.HOSTNAME }
}

/**
 * A RESOLVED body with the first of `answers` that fit in `maxBytes` (the data of one relay
 * payload), in order: IP literals, or one name. Throws if not even the first fits or the
 * answers mix names and addresses.
 */
export function encodeResolved (answers: readonly string[], maxBytes: number): Uint8Array {
  const encoded: Uint8Array[] = []
  let total = 0
  for (const answer of answers) {
    const bytes = encodeRelayAddress(answer)
    if (total + bytes.length > maxBytes) break
    encoded.push(bytes)
    total += bytes.length
  }
  if (encoded.length === 0) throw new ProtocolError(ProtocolErrorCode.RELAY_BAD_LENGTH, `no answer fits ${maxBytes} bytes`)
  const names = encoded.filter((bytes) => bytes[0] === AddressType.HOSTNAME).length
  if (names > 0 && encoded.length > 1) throw bad('a RESOLVED holds addresses or one name, not both')
  const out = new Uint8Array(total)
  let offset = 0
  for (const bytes of encoded) { out.set(bytes, offset); offset += bytes.length }
  return out
}

export function decodeResolved (body: Uint8Array): ResolveAnswer[] {
  if (body.length === 0) throw bad('RESOLVED without an answer')
  const answers: ResolveAnswer[] = []
  for (let offset = 0; offset < body.length;) {
    const address = decodeRelayAddress(body, offset, 'RESOLVED')
    answers.push({ addressType: address.addressType, host: address.host })
    offset += address.bytesRead
  }
  const names = answers.filter((a) => a.addressType === AddressType.HOSTNAME).length
  if (names > 0 && answers.length > 1) throw bad('a RESOLVED holds addresses or one name, not both')
  return answers
}

function bad (message: string): ProtocolError {
  return new ProtocolError(ProtocolErrorCode.RELAY_BAD_ADDRESS, message)
}
