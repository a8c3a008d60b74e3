/**
 * The body of a relay BEGIN: where the exit should connect, then optional first data.
 *
 *   atyp(1) ‖ address ‖ port(2, BE) ‖ earlyData(rest)
 *   atyp 1 = IPv4 (4 bytes) · 3 = hostname (length(1) 1..255 ‖ name) · 4 = IPv6 (16 bytes)
 *
 * The numbering follows SOCKS5 (RFC 1928) so the client passes what the app asked for
 * straight through. Hostnames go to the exit unresolved (DNS happens at the exit).
 */
import { isIP } from 'node:net'
import { ProtocolError, ProtocolErrorCode } from './errors.js'

export const AddressType = { IPV4: 1, HOSTNAME: 3, IPV6: 4 } as const
export type AddressType = typeof AddressType[keyof typeof AddressType]

export interface BeginTarget {
  readonly host: string
  readonly port: number
}

export interface DecodedBegin extends BeginTarget {
  readonly addressType: AddressType
  /** Optimistic data the app sent with its request (a view). */
  readonly earlyData: Uint8Array
}

/** Encode a BEGIN body: the address form is chosen from the host string. */
export function encodeBegin (target: BeginTarget, earlyData?: Uint8Array): Uint8Array {
  const { host, port } = target
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ProtocolError(ProtocolErrorCode.RELAY_BAD_ADDRESS, 'port must be 1..65535')
  const address = encodeAddress(host)
  const out = new Uint8Array(address.length + 2 + (earlyData?.length ?? 0))
  out.set(address, 0)
  out[address.length] = port >>> 8
  out[address.length + 1] = port & 0xff
  if (earlyData !== undefined) out.set(earlyData, address.length + 2)
  return out
}

export function decodeBegin (body: Uint8Array): DecodedBegin {
  if (body.length < 1) throw bad('empty BEGIN')
  const atyp = body[0]!
  let host: string
  let offset: number
  if (atyp === AddressType.IPV4) {
    if (body.length < 1 + 4 + 2) throw bad('truncated IPv4 BEGIN')
    host = `${body[1]}.${body[2]}.${body[3]}.${body[4]}`
    offset = 5
  } else if (atyp === AddressType.IPV6) {
    if (body.length < 1 + 16 + 2) throw bad('truncated IPv6 BEGIN')
    const groups: string[] = []
    for (let i = 0; i < 8; i++) groups.push(((body[1 + 2 * i]! << 8) | body[2 + 2 * i]!).toString(16))
    host = groups.join(':')
    offset = 17
  } else if (atyp === AddressType.HOSTNAME) {
    const length = body[1]
    if (length === undefined || length === 0 || body.length < 2 + length + 2) throw bad('truncated hostname BEGIN')
    host = new TextDecoder('utf-8', { fatal: false }).decode(body.subarray(2, 2 + length))
    if (!isPlausibleHostname(host)) throw bad('hostname has characters a DNS name cannot have')
    offset = 2 + length
  } else {
    throw bad(`unknown address type ${atyp}`)
  }
  const port = (body[offset]! << 8) | body[offset + 1]!
  if (port === 0) throw bad('port 0')
  return { host, port, addressType: atyp, earlyData: body.subarray(offset + 2) }
}

function encodeAddress (host: string): Uint8Array {
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
  if (name.length === 0 || name.length > 255 || !isPlausibleHostname(host)) throw bad('hostname must be 1..255 bytes of a DNS name')
  const out = new Uint8Array(2 + name.length)
  out[0] = AddressType.HOSTNAME
  out[1] = name.length
  out.set(name, 2)
  return out
}

/** Letters, digits, '-', '_', '.' (and a trailing dot): rejects control bytes and spaces. */
function isPlausibleHostname (host: string): boolean {
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
