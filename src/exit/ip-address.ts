/**
 * IP address literals as bytes: the one parser every exit check goes through.
 *
 * String checks on addresses are how SSRF filters get bypassed (`::ffff:7f00:1` is
 * `127.0.0.1`, `127.1` is too for inet_aton; DESIGN-REVIEW R12), so the exit turns every
 * address into its 4 or 16 bytes once and compares bytes from then on. Only the strict forms
 * Node itself accepts (`net.isIP`) get here: dotted-quad IPv4 without shorthand, octal or
 * hex, and IPv6 in any RFC 4291 text form. A zone index (`fe80::1%eth0`) is refused: it
 * names one of the exit's own interfaces and no internet host needs one.
 */
import net from 'node:net'
import { formatIPv6 } from '../base/ipv6-text.js'

export type IpFamily = 4 | 6

export interface IpAddress {
  readonly family: IpFamily
  /** 4 bytes for IPv4, 16 for IPv6, network order. */
  readonly bytes: Uint8Array
  /** Canonical text: dotted quad, or RFC 5952 IPv6 (lower case, longest zero run as `::`). */
  readonly text: string
}

const HEXTET = /^[0-9a-fA-F]{1,4}$/

/** The address a literal names, or undefined when it is not a strict IP literal. */
export function parseIpAddress (literal: string): IpAddress | undefined {
  const family = net.isIP(literal)
  if (family === 4) {
    const bytes = parseIpv4Bytes(literal)
    return bytes === undefined ? undefined : ipv4FromBytes(bytes)
  }
  if (family === 6) {
    const bytes = parseIpv6Bytes(literal)
    return bytes === undefined ? undefined : ipv6FromBytes(bytes)
  }
  return undefined
}

export function ipv4FromBytes (bytes: Uint8Array): IpAddress {
  if (bytes.length !== 4) throw new RangeError('an IPv4 address has 4 bytes')
  const copy = Uint8Array.from(bytes)
  return { family: 4, bytes: copy, text: copy.join('.') }
}

export function ipv6FromBytes (bytes: Uint8Array): IpAddress {
  if (bytes.length !== 16) throw new RangeError('an IPv6 address has 16 bytes')
  const copy = Uint8Array.from(bytes)
  return { family: 6, bytes: copy, text: formatIPv6(copy) }
}

/**
 * Whether `address` lies in `prefix/bits`. Families never match across: an IPv4 prefix
 * says nothing about an IPv6 address (embedded IPv4 is unwrapped separately and checked
 * as IPv4, see embedded-ipv4.ts).
 */
export function prefixContains (prefix: IpAddress, bits: number, address: IpAddress): boolean {
  if (prefix.family !== address.family) return false
  const whole = bits >>> 3
  for (let i = 0; i < whole; i++) {
    if (prefix.bytes[i] !== address.bytes[i]) return false
  }
  const rest = bits & 7
  if (rest === 0) return true
  const mask = (0xff << (8 - rest)) & 0xff
  return ((prefix.bytes[whole]! ^ address.bytes[whole]!) & mask) === 0
}

/** Whether any bit after the first `bits` is set (a prefix written with host bits). */
export function hasHostBits (prefix: IpAddress, bits: number): boolean {
  for (let bit = bits; bit < prefix.bytes.length * 8; bit++) {
    if ((prefix.bytes[bit >>> 3]! & (0x80 >>> (bit & 7))) !== 0) return true
  }
  return false
}

function parseIpv4Bytes (text: string): Uint8Array | undefined {
  // Callers have checked net.isIPv4, whose grammar is exactly four decimal octets 0..255
  // without leading zeros; the checks below keep this function safe on its own anyway.
  const parts = text.split('.')
  if (parts.length !== 4) return undefined
  const bytes = new Uint8Array(4)
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined
    const value = Number(part)
    if (value > 255) return undefined
    bytes[i] = value
  }
  return bytes
}

function parseIpv6Bytes (text: string): Uint8Array | undefined {
  if (text.includes('%')) return undefined
  let head = text
  const tail: number[] = []
  const lastColon = text.lastIndexOf(':')
  const last = text.slice(lastColon + 1)
  if (last.includes('.')) {
    // RFC 4291 §2.2 form 3: the low 32 bits written as a dotted quad.
    const v4 = parseIpv4Bytes(last)
    if (v4 === undefined) return undefined
    tail.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!)
    head = text.slice(0, lastColon + 1)
    if (!head.endsWith('::')) head = head.slice(0, -1)
  }
  const halves = head.split('::')
  if (halves.length > 2) return undefined
  const left = parseHextets(halves[0]!)
  const right = halves.length === 2 ? parseHextets(halves[1]!) : []
  if (left === undefined || right === undefined) return undefined
  const given = left.length + right.length + tail.length
  let words: number[]
  if (halves.length === 2) {
    if (given > 7) return undefined
    words = [...left, ...new Array<number>(8 - given).fill(0), ...right, ...tail]
  } else {
    if (given !== 8) return undefined
    words = [...left, ...tail]
  }
  const bytes = new Uint8Array(16)
  for (let i = 0; i < 8; i++) {
    bytes[2 * i] = words[i]! >>> 8
    bytes[2 * i + 1] = words[i]! & 0xff
  }
  return bytes
}

function parseHextets (text: string): number[] | undefined {
  if (text === '') return []
  const words: number[] = []
  for (const part of text.split(':')) {
    if (!HEXTET.test(part)) return undefined
    words.push(parseInt(part, 16))
  }
  return words
}
