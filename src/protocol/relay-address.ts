/**
 * The address form shared by relay BEGIN and RESOLVE (and RESOLVED answers):
 *
 *   atyp(1) ‖ address
 *   atyp 1 = IPv4 (4 bytes) · 3 = hostname (length(1) 1..255 ‖ name) · 4 = IPv6 (16 bytes)
 *
 * The numbering follows SOCKS5 (RFC 1928) so the client passes what the app asked for
 * straight through. A name is letters, digits, '-', '_' and '.': it carries no control bytes
 * or spaces into a log or a resolver. Every length is checked before the bytes are read.
 */
import { isIP } from 'node:net'
import { ProtocolError, ProtocolErrorCode } from './errors.js'

export const AddressType = { IPV4: 1, HOSTNAME: 3, IPV6: 4 } as const
export type AddressType = typeof AddressType[keyof typeof AddressType]

/** The longest name a hostname address carries (its length is one byte). */
export const MAX_NAME_BYTES = 255

export interface DecodedAddress {
  readonly addressType: AddressType
  /** Dotted quad, eight uncompressed hex groups (IPv6), or the name as sent. */
  readonly host: string
  readonly bytesRead: number
}

/** The address form chosen from the host string: an IP literal, else a name. */
export function encodeRelayAddress (host: string): Uint8Array {
  const family = isIP(host)
  if (family === 4) {
    return Uint8Array.of(AddressType.IPV4, ...host.split('.').map((p) => Number(p)))
  }
  if (family === 6) {
    const out = new Uint8Array(17)
    out[0] = AddressType.IPV6
    out.set(ipv6Bytes(host), 1)
    return out
  }
  const name = new TextEncoder().encode(host)
  if (name.length === 0 || name.length > MAX_NAME_BYTES || !isPlausibleHostname(host)) throw bad('hostname must be 1..255 bytes of a DNS name')
  const out = new Uint8Array(2 + name.length)
  out[0] = AddressType.HOSTNAME
  out[1] = name.length
  out.set(name, 2)
  return out
}

/** One address starting at `offset`; `what` names the message in errors ("BEGIN"). */
export function decodeRelayAddress (bytes: Uint8Array, offset: number, what: string): DecodedAddress {
  if (bytes.length < offset + 1) throw bad(`empty ${what}`)
  const atyp = bytes[offset]!
  if (atyp === AddressType.IPV4) {
    if (bytes.length < offset + 1 + 4) throw bad(`truncated IPv4 ${what}`)
    const host = `${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}.${bytes[offset + 4]}`
    return { addressType: atyp, host, bytesRead: 5 }
  }
  if (atyp === AddressType.IPV6) {
    if (bytes.length < offset + 1 + 16) throw bad(`truncated IPv6 ${what}`)
    const groups: string[] = []
    for (let i = 0; i < 8; i++) groups.push(((bytes[offset + 1 + 2 * i]! << 8) | bytes[offset + 2 + 2 * i]!).toString(16))
    return { addressType: atyp, host: groups.join(':'), bytesRead: 17 }
  }
  if (atyp === AddressType.HOSTNAME) {
    const length = bytes[offset + 1]
    if (length === undefined || length === 0 || bytes.length < offset + 2 + length) throw bad(`truncated hostname ${what}`)
    const host = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(offset + 2, offset + 2 + length))
    if (!isPlausibleHostname(host)) throw bad('hostname has characters a DNS name cannot have')
    return { addressType: atyp, host, bytesRead: 2 + length }
  }
  throw bad(`unknown address type ${atyp}`)
}

/** Letters, digits, '-', '_', '.' (and a trailing dot): rejects control bytes and spaces. */
export function isPlausibleHostname (host: string): boolean {
  return /^[A-Za-z0-9_.-]+$/.test(host)
}

/** The 16 bytes of an IPv6 literal (which `isIP` already accepted), including `::` and dotted tails. */
export function ipv6Bytes (literal: string): Uint8Array {
  let text = literal
  const zone = text.indexOf('%')
  if (zone >= 0) text = text.slice(0, zone)
  const out = new Uint8Array(16)
  const tail: number[] = []
  const dotted = text.match(/(\d+\.\d+\.\d+\.\d+)$/)
  if (dotted !== null) {
    const parts = dotted[1]!.split('.').map(Number)
    tail.push((parts[0]! << 8) | parts[1]!, (parts[2]! << 8) | parts[3]!)
    text = text.slice(0, text.length - dotted[1]!.length) + '0:0'
  }
  const [headText, tailText] = text.includes('::') ? text.split('::') as [string, string] : [text, undefined]
  const head = headText === '' ? [] : headText.split(':')
  const rest = tailText === undefined || tailText === '' ? [] : tailText.split(':')
  const groups = tailText === undefined ? head : [...head, ...new Array(8 - head.length - rest.length).fill('0'), ...rest]
  groups.forEach((g, i) => { const v = parseInt(g, 16); out[2 * i] = v >>> 8; out[2 * i + 1] = v & 0xff })
  if (tail.length === 2) { out[12] = tail[0]! >>> 8; out[13] = tail[0]! & 0xff; out[14] = tail[1]! >>> 8; out[15] = tail[1]! & 0xff }
  return out
}

function bad (message: string): ProtocolError {
  return new ProtocolError(ProtocolErrorCode.RELAY_BAD_ADDRESS, message)
}
