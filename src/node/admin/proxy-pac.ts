/**
 * The client admin port's `/proxy.pac`: a proxy auto-config file that sends a browser's every
 * URL to the client's SOCKS5 port, and fails closed — no `DIRECT` anywhere, so a browser
 * that cannot reach mixgate shows an error instead of going around it.
 *
 *   function FindProxyForURL(url, host) {
 *     return "SOCKS5 127.0.0.1:1080";
 *   }
 *
 * Not `SOCKS5 h:p; SOCKS h:p`, the usual fallback: PAC's `SOCKS` is SOCKS4, for which
 * Chromium resolves the host name itself (local DNS), and Chromium falls over to the next
 * entry on any SOCKS5 failure reply (net/http/proxy_fallback.cc: ERR_SOCKS_CONNECTION_FAILED),
 * so a stream the exit refused would be retried with the name leaked to the local resolver.
 *
 * With an HTTP CONNECT door, https: and wss: URLs (the ones a browser tunnels with CONNECT)
 * get it as the second entry, `SOCKS5 h:p; PROXY h2:p2`: the same cascade, names resolved
 * by the exit either way. Plain http: URLs never go to it, since the door answers only
 * CONNECT. An unspecified bind address (0.0.0.0, ::) is given as loopback: the file is
 * served on loopback, to a browser on this machine.
 */
import { formatHostPort, type HostPort } from '../../base/address.js'

export const PAC_CONTENT_TYPE = 'application/x-ns-proxy-autoconfig'

export interface PacDoors {
  readonly socks: HostPort
  readonly http?: HostPort | undefined
}

export function proxyPac (doors: PacDoors): string {
  const socks = `SOCKS5 ${where(doors.socks)}`
  const lines = [
    '// mixgate: every URL through the SOCKS5 port, never direct: it fails closed.',
    'function FindProxyForURL(url, host) {',
  ]
  if (doors.http !== undefined) {
    lines.push('  var scheme = url.substring(0, url.indexOf(":")).toLowerCase();')
    lines.push(`  if (scheme === "https" || scheme === "wss") return ${JSON.stringify(`${socks}; PROXY ${where(doors.http)}`)};`)
  }
  lines.push(`  return ${JSON.stringify(socks)};`, '}', '')
  return lines.join('\n')
}

function where (address: HostPort): string {
  const host = address.host === '0.0.0.0' ? '127.0.0.1' : address.host === '::' ? '::1' : address.host
  return formatHostPort({ host, port: address.port })
}
