/**
 * Errors the exit's configuration can raise at start-up (bad policy rules, bad resolver
 * settings, a cascade address it cannot resolve). Per-stream failures are never thrown: they are END reasons (outbound.ts).
 */
import { MixgateError } from '../errors.js'

/** A rule of the exit policy (or a cascade address given to it) that cannot be read. */
export class PolicyError extends MixgateError {
  /** The offending rule or address, as the operator wrote it. */
  readonly rule: string

  constructor (rule: string, problem: string) {
    super('EXIT_POLICY_INVALID', `exit policy rule ${quote(rule)}: ${problem}`)
    this.rule = rule
  }
}

/** The exit resolver's settings (DNS servers, timeout) are unusable. */
export class ResolverConfigError extends MixgateError {
  constructor (message: string, options?: { cause?: unknown }) {
    super('EXIT_RESOLVER_INVALID', message, options)
  }
}

/**
 * A cascade hop or one of the exit's own services is named by a host name the exit's DNS
 * servers do not resolve: the exit will not start, since it could not refuse that address.
 */
export class OwnAddressError extends MixgateError {
  constructor (what: string, host: string) {
    super('EXIT_OWN_ADDRESS_UNRESOLVED', `${what} is named ${quote(host)}, which the exit's DNS servers do not resolve: ` +
      'the exit refuses to start rather than leave that node open to its streams (fix the name or dnsServers)')
  }
}

function quote (text: string): string {
  const shown = text.length > 120 ? `${text.slice(0, 120)}…` : text
  return JSON.stringify(shown)
}
