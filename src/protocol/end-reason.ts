/**
 * Why a stream ended: the one-byte reason carried in a relay END.
 *
 * Numbered as Tor's END_STREAM_REASON (tor-spec §6.3) so that operators and tools that know
 * Tor read them the same way. The exit sends exactly one policy reason (EXIT_POLICY) for
 * every refusal, whatever the cause (private address, port, rule), so the reason never tells
 * a client what the exit's internal DNS view or network looks like (DESIGN-REVIEW R12).
 */
export const EndReason = {
  MISC: 1,
  RESOLVE_FAILED: 2,
  CONNECT_REFUSED: 3,
  EXIT_POLICY: 4,
  DESTROY: 5,
  DONE: 6,
  TIMEOUT: 7,
  NO_ROUTE: 8,
  HIBERNATING: 9,
  INTERNAL: 10,
  RESOURCE_LIMIT: 11,
  CONN_RESET: 12,
  PROTOCOL: 13,
  NET_UNREACHABLE: 14,
} as const

export type EndReason = typeof EndReason[keyof typeof EndReason]

const known = new Set<number>(Object.values(EndReason))

export function isEndReason (value: number): value is EndReason {
  return known.has(value)
}

/** The SOCKS5 reply (RFC 1928 REP) for a stream that ended before CONNECTED: Tor's table. */
export function socksReplyForEnd (reason: number): number {
  switch (reason) {
    case EndReason.EXIT_POLICY: return 0x02
    case EndReason.NET_UNREACHABLE: return 0x03
    case EndReason.RESOLVE_FAILED:
    case EndReason.NO_ROUTE: return 0x04
    case EndReason.CONNECT_REFUSED:
    case EndReason.DONE:
    case EndReason.CONN_RESET: return 0x05
    case EndReason.TIMEOUT: return 0x06
    default: return 0x01
  }
}

/** The END reason for an error of `net.connect` at the exit: Tor's errno table (reasons.c). */
export function endReasonForErrno (code: string | undefined): EndReason {
  switch (code) {
    case 'EPIPE': return EndReason.DONE
    case 'EBADF': case 'EFAULT': case 'EINVAL': case 'EISCONN': case 'ENOTSOCK':
    case 'EPROTONOSUPPORT': case 'EAFNOSUPPORT': case 'ENOTCONN': return EndReason.INTERNAL
    case 'ENETUNREACH': return EndReason.NET_UNREACHABLE
    case 'EHOSTUNREACH': case 'EACCES': case 'EPERM': return EndReason.NO_ROUTE
    case 'ECONNREFUSED': return EndReason.CONNECT_REFUSED
    case 'ECONNRESET': return EndReason.CONN_RESET
    case 'ETIMEDOUT': return EndReason.TIMEOUT
    case 'ENOBUFS': case 'ENOMEM': case 'ENFILE': case 'EADDRINUSE':
    case 'EADDRNOTAVAIL': case 'EMFILE': return EndReason.RESOURCE_LIMIT
    default: return EndReason.MISC
  }
}
