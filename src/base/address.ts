/**
 * `HOST:PORT` addresses as written in configs and on the command line.
 *
 * Three host forms: an IPv4 literal (`127.0.0.1:1080`), an IPv6 literal in brackets
 * (`[::1]:1080`, the only unambiguous way to add a port to it) and a DNS name
 * (`localhost:1080`). Errors never repeat the text they reject: the same parser may one day
 * see a destination, and messages must not carry destinations (DESIGN-REVIEW R19). Callers
 * that know the text is harmless (the config validator) quote it themselves.
 */
import { isIPv4, isIPv6 } from 'node:net'
import { MixgateError } from '../errors.js'

export interface HostPort {
  /** An IPv4 literal, an IPv6 literal without brackets, or a DNS name. */
  readonly host: string
  readonly port: number
}

export class AddressError extends MixgateError {}

export interface ParseHostPortOptions {
  /** Accept port 0 ("any free port"), which makes sense for a listen address only. */
  readonly allowZeroPort?: boolean
}

const MAX_NAME_LENGTH = 253
const MAX_LABEL_LENGTH = 63
// Letters, digits, hyphens and (for internal names such as `_srv` labels) underscores; a
// label never starts or ends with a hyphen.
const LABEL = /^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?$/i
const ALL_DIGITS = /^[0-9]+$/
// Canonical decimal: no sign, no leading zeros, at most five digits.
const PORT = /^(?:0|[1-9][0-9]{0,4})$/

/**
 * Split `HOST:PORT` into its parts.
 *
 * @throws AddressError `ADDR_SYNTAX` (no `:PORT`, empty host, stray brackets),
 *   `ADDR_IPV6_BRACKETS` (an IPv6 literal without brackets), `ADDR_BAD_HOST`,
 *   `ADDR_BAD_PORT`.
 */
export function parseHostPort (text: string, options: ParseHostPortOptions = {}): HostPort {
  let host: string
  let portText: string
  if (text.startsWith('[')) {
    const close = text.indexOf(']')
    if (close < 0 || text[close + 1] !== ':') throw syntaxError()
    host = text.slice(1, close)
    portText = text.slice(close + 2)
    if (!isIPv6(host)) {
      throw new AddressError('ADDR_BAD_HOST', 'the address in brackets must be an IPv6 literal')
    }
  } else {
    const colon = text.lastIndexOf(':')
    if (colon < 0) throw syntaxError()
    host = text.slice(0, colon)
    portText = text.slice(colon + 1)
    if (host.includes(':')) {
      throw new AddressError('ADDR_IPV6_BRACKETS', 'an IPv6 address must be written in brackets, as [ADDR]:PORT')
    }
    if (host === '' || host.includes('[') || host.includes(']')) throw syntaxError()
    if (!isIPv4(host) && !isDnsName(host)) {
      throw new AddressError('ADDR_BAD_HOST', 'host must be an IPv4 address, an IPv6 address in brackets or a DNS name')
    }
  }
  return { host, port: parsePort(portText, options.allowZeroPort === true) }
}

/** The inverse of `parseHostPort`: brackets around IPv6 literals, nothing else added. */
export function formatHostPort (address: HostPort): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`
}

/**
 * A DNS name in the usual host-name syntax, optionally fully qualified (trailing dot).
 * A name whose last label is all digits is refused: it is a mistyped IPv4 address
 * (`10.0.0.256`, `1.2.3`), and no top-level domain is numeric.
 */
export function isDnsName (name: string): boolean {
  const bare = name.endsWith('.') ? name.slice(0, -1) : name
  if (bare === '' || bare.length > MAX_NAME_LENGTH) return false
  const labels = bare.split('.')
  if (ALL_DIGITS.test(labels[labels.length - 1]!)) return false
  return labels.every((label) => label.length <= MAX_LABEL_LENGTH && LABEL.test(label))
}

function parsePort (text: string, allowZero: boolean): number {
  const min = allowZero ? 0 : 1
  const port = PORT.test(text) ? Number(text) : NaN
  if (!(port >= min && port <= 65535)) {
    throw new AddressError('ADDR_BAD_PORT', `port must be an integer between ${min} and 65535`)
  }
  return port
}

function syntaxError (): AddressError {
  return new AddressError('ADDR_SYNTAX', 'expected HOST:PORT')
}
