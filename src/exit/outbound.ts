/**
 * Opening the exit's TCP connection for a BEGIN: resolve, check, connect (DESIGN-REVIEW R12).
 *
 * The name is resolved once, by the exit's resolver; every address it returns is checked
 * against the policy and only the allowed ones are kept; the socket then connects to a kept
 * IP literal itself (IPv4 first, one deadline across them all), never to a name, which
 * `net.connect` would resolve again, unchecked (DNS rebinding).
 *
 * Failures are END reasons, never exceptions: EXIT_POLICY when the port is invalid or no
 * address is allowed, the resolver's reason when it fails (RESOLVE_FAILED; RESOURCE_LIMIT
 * over the exit's DNS cap), TIMEOUT at the deadline, DONE when aborted, and the errno table
 * of end-reason.ts for what the socket reports.
 */
import net from 'node:net'
import { performance } from 'node:perf_hooks'
import { EndReason, endReasonForErrno } from '../protocol/end-reason.js'
import { parseIpAddress, type IpAddress } from './ip-address.js'
import type { HostResolver } from './resolver.js'
import { connectWithSharedReads } from '../base/socket-reads.js'

/** What outbound needs of a policy (ExitPolicy from policy.ts). */
export interface PolicyCheck {
  allows (ip: string, port: number): boolean
}

export interface OutboundOptions {
  /** Host name or IP literal from the BEGIN (IPv6 with or without brackets). */
  readonly host: string
  readonly port: number
  readonly policy: PolicyCheck
  readonly resolver: HostResolver
  /** Deadline for the TCP handshake, across every address tried, in ms. */
  readonly connectTimeoutMs: number
  /** Aborting gives up (the stream went away): the attempt ends with EndReason.DONE. */
  readonly signal?: AbortSignal
}

export type OutboundResult =
  | { readonly ok: true, readonly socket: net.Socket, readonly address: string }
  | { readonly ok: false, readonly reason: EndReason }

const refused = (reason: EndReason): OutboundResult => ({ ok: false, reason })

/**
 * Resolves, checks and connects. On success the socket is connected, has TCP_NODELAY set
 * and no listeners of ours: the caller must add its own 'error' listener right away. It reads
 * into the thread's shared buffer, so it emits no 'data': read it with `onChunks`
 * (src/base/socket-reads.ts).
 * `address` is the IP literal connected to (for debug logs only: it is a destination).
 */
export async function openOutbound (options: OutboundOptions): Promise<OutboundResult> {
  const { host, port, policy, resolver, connectTimeoutMs, signal } = options
  if (!Number.isInteger(port) || port < 1 || port > 65535) return refused(EndReason.EXIT_POLICY)
  if (aborted(signal)) return refused(EndReason.DONE)

  const resolved = await resolver.resolve(host)
  if (!resolved.ok) return refused(resolved.reason)
  if (resolved.addresses.length === 0) return refused(EndReason.RESOLVE_FAILED)

  // Every answer is checked; only the ones the policy allows are ever connected to. An answer
  // set that mixes allowed and refused addresses (`localhost` → 127.0.0.1 and ::1 with only
  // 127.0.0.1 opened, or a rebinding trick mixing public and private) keeps only the allowed.
  const checked = new Map<string, IpAddress>()
  for (const literal of resolved.addresses) {
    const address = parseIpAddress(literal)
    if (address === undefined || !policy.allows(address.text, port)) continue
    checked.set(address.text, address)
  }
  if (checked.size === 0) return refused(EndReason.EXIT_POLICY)
  if (aborted(signal)) return refused(EndReason.DONE)

  // IPv4 first: most exits have it; an IPv6-less exit then fails over at once (ENETUNREACH).
  const candidates = [...checked.values()].sort((a, b) => a.family - b.family)
  const deadline = performance.now() + connectTimeoutMs
  let last: OutboundResult = refused(EndReason.MISC)
  for (const address of candidates) {
    const remaining = deadline - performance.now()
    if (remaining <= 0) return refused(EndReason.TIMEOUT)
    last = await connectTo(address, port, remaining, signal)
    if (last.ok || last.reason === EndReason.TIMEOUT || last.reason === EndReason.DONE) return last
  }
  return last
}

function connectTo (address: IpAddress, port: number, timeoutMs: number, signal: AbortSignal | undefined): Promise<OutboundResult> {
  return new Promise((resolve) => {
    // Read into the thread's shared buffer (socket-reads.ts): the stream copies only what its
    // window cannot send at once.
    const socket = connectWithSharedReads({
      host: address.text,
      port,
      family: address.family,
      autoSelectFamily: false,
      noDelay: true,
      lookup: refuseLookup,
    })
    let settled = false
    const finish = (result: OutboundResult): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.off('connect', onConnect)
      socket.off('error', onError)
      signal?.removeEventListener('abort', onAbort)
      if (!result.ok) {
        socket.on('error', ignore)
        socket.destroy()
      }
      resolve(result)
    }
    const onConnect = (): void => {
      socket.setNoDelay(true)
      finish({ ok: true, socket, address: address.text })
    }
    const onError = (error: NodeJS.ErrnoException): void => finish(refused(endReasonForErrno(error.code)))
    const onAbort = (): void => finish(refused(EndReason.DONE))
    const timer = setTimeout(() => finish(refused(EndReason.TIMEOUT)), timeoutMs)
    socket.once('connect', onConnect)
    socket.on('error', onError)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/** net.connect skips lookup for IP literals; if it ever did not, it must not resolve. */
const refuseLookup: net.LookupFunction = (_hostname, _options, callback) => {
  const error: NodeJS.ErrnoException = new Error('outbound connections take checked IP literals only')
  error.code = 'EINVAL'
  callback(error, '', 4)
}

function ignore (): void {}

// A function, not `signal?.aborted` inline: TypeScript narrows that across an `await`.
function aborted (signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true
}
