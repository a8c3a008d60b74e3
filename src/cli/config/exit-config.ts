/**
 * The config file of an exit: its key dir, addresses and signed cascade (as a mix's), its
 * exit policy and DNS servers.
 *
 *   { "role": "exit", "keyDir": "exit", "address": "198.51.100.9:9001", "cascade": "cascade.json",
 *     "exitPolicy": ["reject *:22"], "dnsServers": ["9.9.9.9"] }
 *
 * `exitPolicy` rules go in front of the safe default (which refuses private and special
 * ranges, the cascade's own nodes and port 25), so only an explicit `accept` opens a
 * special range. Rules are checked here, at load time, so `check-config` catches them.
 * Without `dnsServers` the exit uses the host's resolvers (`dns.getServers()`), read at start.
 * `exitPolicy` (and the log level) can change on SIGHUP without dropping circuits.
 * `maxDnsQueries`, `maxOutbound` and `maxStreamsPerCircuit` cap what clients can make the
 * exit hold (src/exit/limits.ts); a stream over a cap is refused with RESOURCE_LIMIT.
 */
import { isIP } from 'node:net'
import { parsePolicyRule } from '../../exit/policy-rule.js'
import { PolicyError } from '../../exit/errors.js'
import { DEFAULT_EXIT_LIMITS } from '../../exit/limits.js'
import { EXIT_MIN_STREAMS_PER_CIRCUIT } from '../../protocol/stream-bound.js'
import { arr, int, obj, oneOf, refine, str, type Infer } from '../../base/schema.js'
import { HOP_OPTIONAL, hopFields, SCHEMA_REF_OPTIONAL, schemaRefFields } from './common-fields.js'

/** One line of Tor policy syntax (`accept 127.0.0.1:*`); commas may join several rules. */
const policyLineSpec = refine(str({ maxLength: 1024 }), (line) => {
  try {
    for (const part of line.split(',')) parsePolicyRule(part)
    return undefined
  } catch (err) {
    if (err instanceof PolicyError) return err.message
    throw err
  }
})

/** A DNS server as `dns.setServers` takes it: `IP`, `IPv4:PORT` or `[IPv6]:PORT`. */
const dnsServerSpec = refine(str(), (text) => isDnsServer(text)
  ? undefined
  : `must be an IP address with an optional port (9.9.9.9, 9.9.9.9:53, [2620:fe::fe]:53), got ${JSON.stringify(text.slice(0, 60))}`)

export function isDnsServer (text: string): boolean {
  if (isIP(text) !== 0) return true
  const bracketed = /^\[([^\]]+)\]:([0-9]{1,5})$/.exec(text)
  const v4 = /^([0-9.]+):([0-9]{1,5})$/.exec(text)
  const match = bracketed ?? v4
  if (match === null) return false
  const port = Number(match[2])
  const family = isIP(match[1]!)
  return port >= 1 && port <= 65535 && (bracketed === null ? family === 4 : family === 6)
}

export const exitConfigSpec = obj({
  ...schemaRefFields,
  role: oneOf(['exit'] as const),
  ...hopFields,
  exitPolicy: arr(policyLineSpec, { maxLength: 1000, default: [] }),
  dnsServers: arr(dnsServerSpec, { minLength: 1, maxLength: 16 }),
  connectTimeoutMs: int({ min: 100, max: 300_000 }),
  maxDnsQueries: int({ min: 1, max: 65_536, default: DEFAULT_EXIT_LIMITS.maxDnsQueries }),
  maxOutbound: int({ min: 1, max: 1_000_000, default: DEFAULT_EXIT_LIMITS.maxOutbound }),
  // Stream IDs are 16 bits and 0 is the circuit's own; below the protocol's floor an honest
  // client would be refused (src/protocol/stream-bound.ts).
  maxStreamsPerCircuit: int({ min: EXIT_MIN_STREAMS_PER_CIRCUIT, max: 65_535, default: DEFAULT_EXIT_LIMITS.maxStreamsPerCircuit }),
}, { optional: [...SCHEMA_REF_OPTIONAL, ...HOP_OPTIONAL, 'dnsServers', 'connectTimeoutMs'] })

export type ExitConfig = Infer<typeof exitConfigSpec>
