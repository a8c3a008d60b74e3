/**
 * The IPv4 addresses an IPv6 address carries inside it (DESIGN-REVIEW R12).
 *
 * A socket, a translator or a relay turns these IPv6 forms into traffic to the IPv4
 * address inside, so an exit that checked only the IPv6 address would let
 * `::ffff:127.0.0.1` or `64:ff9b::a00:1` through to its own loopback or LAN. The policy
 * checks every address returned here as well as the IPv6 address itself, and refuses if
 * any of them is refused.
 *
 * Forms (bit positions counted from 0 at the top of the address):
 *   - IPv4-mapped `::ffff:0:0/96` (RFC 4291 §2.5.5.2): bits 96..127.
 *   - IPv4-compatible `::/96` (RFC 4291 §2.5.5.1, deprecated): bits 96..127, except
 *     `::` and `::1`, which are themselves (the IPv6 special ranges still cover them).
 *   - IPv4-translated `::ffff:0:0:0/96` (RFC 2765 §2.1, SIIT): bits 96..127.
 *   - NAT64 well-known prefix `64:ff9b::/96` (RFC 6052 §2.1): bits 96..127.
 *   - NAT64 local-use `64:ff9b:1::/48` (RFC 8215): the RFC 6052 §2.2 /48 position, bits
 *     48..63 and 72..87 (bits 64..71 are the "u" octet). The local translator may use any
 *     RFC 6052 prefix length inside the /48, which the exit cannot know, so the /56, /64
 *     and /96 positions are returned too: refusing on any of them is the safe reading.
 *   - 6to4 `2002::/16` (RFC 3056 §2): bits 16..47.
 *   - Teredo `2001::/32` (RFC 4380 §4): the server at bits 32..63, the client at bits
 *     96..127 with every bit inverted ("obfuscated").
 */
import { ipv4FromBytes, parseIpAddress, type IpAddress } from './ip-address.js'

export type EmbeddingForm =
  | 'ipv4-mapped'
  | 'ipv4-compatible'
  | 'ipv4-translated'
  | 'nat64'
  | 'nat64-local'
  | '6to4'
  | 'teredo-server'
  | 'teredo-client'

export interface EmbeddedIpv4 {
  readonly form: EmbeddingForm
  readonly address: IpAddress
}

/** Every IPv4 address `address` carries, with the form it was found in; [] for IPv4 input. */
export function embeddedIpv4 (address: IpAddress): EmbeddedIpv4[] {
  if (address.family !== 6) return []
  const b = address.bytes
  const found: EmbeddedIpv4[] = []
  const add = (form: EmbeddingForm, ...indexes: number[]): void => {
    found.push({ form, address: ipv4FromBytes(Uint8Array.from(indexes, (i) => b[i]!)) })
  }
  const low32 = [12, 13, 14, 15]
  if (zero(b, 0, 10) && b[10] === 0xff && b[11] === 0xff) add('ipv4-mapped', ...low32)
  // `::` and `::1` are the unspecified and loopback addresses, not IPv4-compatible ones
  // (RFC 4291 §2.5.2, §2.5.3): reading them as 0.0.0.0/0.0.0.1 would make [::1]
  // unopenable by any rule, since 0.0.0.0/8 is refused.
  if (zero(b, 0, 15) && b[15]! <= 1) return found
  if (zero(b, 0, 12)) add('ipv4-compatible', ...low32)
  if (zero(b, 0, 8) && b[8] === 0xff && b[9] === 0xff && b[10] === 0 && b[11] === 0) {
    add('ipv4-translated', ...low32)
  }
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b) {
    if (zero(b, 4, 12)) add('nat64', ...low32)
    if (b[4] === 0x00 && b[5] === 0x01) {
      add('nat64-local', 6, 7, 9, 10) // RFC 6052 /48
      add('nat64-local', 7, 9, 10, 11) // /56
      add('nat64-local', 9, 10, 11, 12) // /64
      add('nat64-local', ...low32) // /96
    }
  }
  if (b[0] === 0x20 && b[1] === 0x02) add('6to4', 2, 3, 4, 5)
  if (b[0] === 0x20 && b[1] === 0x01 && b[2] === 0x00 && b[3] === 0x00) {
    add('teredo-server', 4, 5, 6, 7)
    found.push({
      form: 'teredo-client',
      address: ipv4FromBytes(Uint8Array.from(low32, (i) => b[i]! ^ 0xff)),
    })
  }
  return found
}

/**
 * The IPv4 addresses (dotted quads) an IP literal carries; [] for IPv4 literals, for IPv6
 * addresses of no embedding form, and for text that is not a strict IP literal.
 */
export function embeddedIpv4Addresses (literal: string): string[] {
  const address = parseIpAddress(literal)
  if (address === undefined) return []
  return [...new Set(embeddedIpv4(address).map((embedded) => embedded.address.text))]
}

function zero (bytes: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (bytes[i] !== 0) return false
  return true
}
