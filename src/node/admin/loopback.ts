/**
 * Whether a listen address stays on this machine. The admin port shows the node's state and
 * serves its descriptor; it belongs on loopback unless the operator says otherwise.
 *
 * Only literals decide: 127.0.0.0/8, ::1 and IPv4-mapped 127.x (`::ffff:127.0.0.1`), in any
 * spelling Node accepts. `localhost` is accepted as a name, and admin-server.ts checks the
 * address it actually bound, so a resolver that maps it elsewhere is caught too.
 */
import { isIPv4, isIPv6 } from 'node:net'

export function isLoopbackAddress (host: string): boolean {
  if (isIPv4(host)) return host.split('.')[0] === '127'
  if (isIPv6(host)) {
    // The URL parser writes IPv6 literals in their canonical compressed form: ::1 and
    // ::ffff:7fXX:XXXX for 127.X.X.X, whatever spelling came in.
    const canonical = new URL(`http://[${host}]/`).hostname.slice(1, -1)
    return canonical === '::1' || /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(canonical)
  }
  return false
}

/** A listen host that is loopback before it is bound: a loopback literal, or `localhost`. */
export function isLoopbackHost (host: string): boolean {
  return host.toLowerCase() === 'localhost' || isLoopbackAddress(host)
}
