/**
 * One exit policy rule in Tor's syntax: parse it, match it, print it.
 *
 *   rule    = ("accept" / "reject") SP address ":" ports
 *   address = "*" / "*4" / "*6" / "private" / IPv4 ["/" bits] / "[" IPv6 "]" ["/" bits]
 *   ports   = "*" / port / port "-" port          ; port = 1..65535
 *
 * `*` matches both families (Tor ≥ 0.2.4), `*4` and `*6` one each. `private` matches every
 * special-purpose range of special-ranges.ts (Tor's `private` is a shorter list plus the
 * relay's own addresses; here those are separate rules, see policy.ts). A prefix written
 * with host bits set (`10.1.0.0/8`) is an error, not silently masked as Tor does: it is
 * almost always a typo, and a policy is the wrong place to guess. Tor's dotted netmasks
 * (`/255.0.0.0`), `accept6`/`reject6` and a missing `:PORT` are not accepted.
 */
import { PolicyError } from './errors.js'
import { hasHostBits, parseIpAddress, prefixContains, type IpAddress, type IpFamily } from './ip-address.js'
import { isSpecialPurpose } from './special-ranges.js'

export type PolicyAction = 'accept' | 'reject'

export type AddressPattern =
  | { readonly kind: 'any', readonly family: IpFamily | undefined }
  | { readonly kind: 'private' }
  | { readonly kind: 'prefix', readonly network: IpAddress, readonly bits: number }

export interface PolicyRule {
  readonly action: PolicyAction
  readonly address: AddressPattern
  readonly portMin: number
  readonly portMax: number
}

const SYNTAX = 'expected "accept|reject ADDRESS:PORT", e.g. "reject 10.0.0.0/8:*" or "accept [2001:db8::]/32:443"'

/** Parses one rule; throws PolicyError naming the rule and what is wrong with it. */
export function parsePolicyRule (source: string): PolicyRule {
  const words = source.trim().split(/\s+/)
  if (words.length === 1 && words[0] === '') throw new PolicyError(source, `is empty; ${SYNTAX}`)
  if (words.length < 2) throw new PolicyError(source, `has no ADDRESS:PORT; ${SYNTAX}`)
  if (words.length > 2) throw new PolicyError(source, `has extra words after ADDRESS:PORT; ${SYNTAX}`)
  const action = words[0]!.toLowerCase()
  if (action !== 'accept' && action !== 'reject') {
    throw new PolicyError(source, `the action must be "accept" or "reject", not ${JSON.stringify(words[0])}`)
  }
  const target = splitTarget(source, words[1]!)
  return { action, address: parseAddress(source, target), ...parsePorts(source, target.ports) }
}

/** Whether `rule` applies to a connection to `address:port`. */
export function ruleMatches (rule: PolicyRule, address: IpAddress, port: number): boolean {
  if (port < rule.portMin || port > rule.portMax) return false
  const pattern = rule.address
  switch (pattern.kind) {
    case 'any': return pattern.family === undefined || pattern.family === address.family
    case 'private': return isSpecialPurpose(address)
    case 'prefix': return prefixContains(pattern.network, pattern.bits, address)
  }
}

/** The rule in the syntax parsePolicyRule reads (canonical spelling). */
export function formatPolicyRule (rule: PolicyRule): string {
  const pattern = rule.address
  let address: string
  if (pattern.kind === 'any') address = pattern.family === undefined ? '*' : `*${pattern.family}`
  else if (pattern.kind === 'private') address = 'private'
  else {
    const full = pattern.network.family === 4 ? 32 : 128
    const text = pattern.network.family === 4 ? pattern.network.text : `[${pattern.network.text}]`
    address = pattern.bits === full ? text : `${text}/${pattern.bits}`
  }
  let ports: string
  if (rule.portMin === 1 && rule.portMax === 65535) ports = '*'
  else if (rule.portMin === rule.portMax) ports = String(rule.portMin)
  else ports = `${rule.portMin}-${rule.portMax}`
  return `${rule.action} ${address}:${ports}`
}

/** A rule matching exactly one address, every port: how cascade nodes are refused. */
export function singleAddressRule (action: PolicyAction, address: IpAddress): PolicyRule {
  return {
    action,
    address: { kind: 'prefix', network: address, bits: address.family === 4 ? 32 : 128 },
    portMin: 1,
    portMax: 65535,
  }
}

/** ADDRESS[/BITS]:PORTS cut into its parts, brackets removed. */
interface Target { host: string, bracketed: boolean, bits: string | undefined, ports: string }

function splitTarget (source: string, target: string): Target {
  let host: string
  let rest: string
  let bracketed = false
  if (target.startsWith('[')) {
    const close = target.indexOf(']')
    if (close < 0) throw new PolicyError(source, 'the IPv6 address has no closing "]"')
    host = target.slice(1, close)
    rest = target.slice(close + 1)
    bracketed = true
    if (rest !== '' && !rest.startsWith(':') && !rest.startsWith('/')) {
      throw new PolicyError(source, `unexpected ${JSON.stringify(rest)} after the IPv6 address; ${SYNTAX}`)
    }
  } else {
    const firstColon = target.indexOf(':')
    const beforeColon = target.slice(0, firstColon < 0 ? target.length : firstColon).split('/')[0]!
    const readable = parseIpAddress(beforeColon) !== undefined || /^(\*|\*4|\*6|private)$/i.test(beforeColon)
    if (target.indexOf(':', firstColon + 1) > 0 && !readable) {
      throw new PolicyError(source, 'IPv6 addresses must be written in brackets, e.g. "accept [2001:db8::1]:443"')
    }
    const end = firstColon < 0 ? target.length : firstColon
    const slash = target.slice(0, end).indexOf('/')
    host = target.slice(0, slash < 0 ? end : slash)
    rest = target.slice(host.length)
  }
  const colon = rest.indexOf(':')
  if (colon < 0) throw new PolicyError(source, `has no ":PORT" (use ":*" for every port); ${SYNTAX}`)
  const bitsPart = rest.slice(0, colon)
  let bits: string | undefined
  if (bitsPart !== '') {
    if (!bitsPart.startsWith('/')) throw new PolicyError(source, `unexpected ${JSON.stringify(bitsPart)} before ":PORT"`)
    bits = bitsPart.slice(1)
  }
  return { host, bracketed, bits, ports: rest.slice(colon + 1) }
}

function parseAddress (source: string, target: Target): AddressPattern {
  const { host, bracketed, bits: bitsText } = target
  const wildcard = host.toLowerCase()
  if (!bracketed && (wildcard === '*' || wildcard === '*4' || wildcard === '*6' || wildcard === 'private')) {
    if (bitsText !== undefined) throw new PolicyError(source, `"${host}" takes no /BITS`)
    if (wildcard === 'private') return { kind: 'private' }
    return { kind: 'any', family: wildcard === '*4' ? 4 : wildcard === '*6' ? 6 : undefined }
  }
  const network = parseIpAddress(host)
  if (bracketed && network?.family !== 6) {
    throw new PolicyError(source, `${JSON.stringify(host)} in brackets is not an IPv6 address` +
      (network?.family === 4 ? ' (write IPv4 addresses without brackets)' : ''))
  }
  if (network === undefined) {
    throw new PolicyError(source, `${JSON.stringify(host)} is not an address: expected "*", "*4", "*6", ` +
      '"private", a dotted-quad IPv4 address such as 192.0.2.1, or an IPv6 address in brackets')
  }
  const full = network.family === 4 ? 32 : 128
  if (bitsText === undefined) return { kind: 'prefix', network, bits: full }
  if (!/^[0-9]{1,3}$/.test(bitsText) || Number(bitsText) > full) {
    throw new PolicyError(source, `the prefix length "/${bitsText}" must be a number from 0 to ${full} for IPv${network.family}`)
  }
  const bits = Number(bitsText)
  if (hasHostBits(network, bits)) {
    throw new PolicyError(source, `the address has bits set after its /${bits} prefix (write the network address)`)
  }
  return { kind: 'prefix', network, bits }
}

function parsePorts (source: string, text: string): { portMin: number, portMax: number } {
  if (text === '*') return { portMin: 1, portMax: 65535 }
  const match = /^([0-9]{1,5})(?:-([0-9]{1,5}))?$/.exec(text)
  const portMin = match === null ? NaN : Number(match[1])
  const portMax = match === null ? NaN : match[2] === undefined ? portMin : Number(match[2])
  if (!(portMin >= 1 && portMin <= 65535 && portMax >= 1 && portMax <= 65535)) {
    throw new PolicyError(source, `the port ${JSON.stringify(text)} must be "*", a number from 1 to 65535, or a range LOW-HIGH`)
  }
  if (portMin > portMax) throw new PolicyError(source, `the port range ${JSON.stringify(text)} ends before it starts`)
  return { portMin, portMax }
}
