/**
 * Our decoder for the head of an HTTP CONNECT request (RFC 9110 §9.3.6, RFC 9112 §3), pure.
 *
 *   CONNECT host:port HTTP/1.1 CRLF  *( field-name ":" OWS field-value OWS CRLF )  CRLF
 *
 * Why our own and not Node's http server with its 'connect' event: the door must behave like
 * the SOCKS door in everything after the request (answer only after the exit did, keep
 * pipelined bytes as early data, linger after a refusal, count typed errors), and Node's
 * server brings keep-alive, its own timeouts and 'clientError' answers that we would have
 * to switch off one by one, and hands over the socket already flowing. A CONNECT head is a
 * request line and a few fields, and the only field read is Proxy-Authorization: a strict
 * decoder of this much is short, and every bound is ours.
 *
 * Bounds: the head ends within MAX_HEAD_BYTES (8 KiB) or the app gets 431; a method other
 * than CONNECT is answered (405) as soon as the request line is complete. Lines end with
 * CRLF or a bare LF (RFC 9112 §2.2 allows recipients to accept LF); obsolete line folding,
 * a CR or NUL inside a line, and a second Proxy-Authorization are refused (400).
 *
 * `decodeConnectHead(bytes)` returns `undefined` while more bytes are needed, `{ value,
 * bytesRead }` once the head is complete (bytes after it are the app's early data), and
 * throws an HttpFrontError carrying the status to answer with when it can never be valid.
 */
import { isIPv4, isIPv6 } from 'node:net'
import type { AddressKind, Decoded } from '../socks/socks-request.js'
import { isPlausibleHostname } from '../socks/socks-request.js'
import { HttpFrontError, HttpFrontErrorCode } from './http-error.js'

export const MAX_HEAD_BYTES = 8 * 1024
/** As a SOCKS5 name, an RFC 1929 username or password. */
const MAX_FIELD_BYTES = 255

export interface ConnectHead {
  readonly host: string
  readonly port: number
  readonly addressType: AddressKind
  /** From `Proxy-Authorization: Basic …`: an isolation key, as SOCKS5 credentials are. */
  readonly username?: string
  readonly password?: string
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const REQUEST_LINE = /^([^ ]+) ([^ ]+) (HTTP\/[0-9]\.[0-9])$/
const PORT = /^[0-9]{1,5}$/
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

export function decodeConnectHead (bytes: Uint8Array): Decoded<ConnectHead> | undefined {
  const firstEnd = bytes.indexOf(0x0a)
  if (firstEnd < 0) {
    if (bytes.length >= MAX_HEAD_BYTES) throw tooLarge()
    return undefined
  }
  const target = requestTarget(line(bytes, 0, firstEnd))
  const end = headEnd(bytes, firstEnd)
  if (end === undefined) {
    if (bytes.length >= MAX_HEAD_BYTES) throw tooLarge()
    return undefined
  }
  if (end > MAX_HEAD_BYTES) throw tooLarge()
  let authorization: string | undefined
  for (let start = firstEnd + 1; start < end;) {
    const lineEnd = bytes.indexOf(0x0a, start)
    const text = line(bytes, start, lineEnd)
    start = lineEnd + 1
    if (text === '') break
    const { name, value } = field(text)
    if (name.toLowerCase() !== 'proxy-authorization') continue
    if (authorization !== undefined) throw malformed(HttpFrontErrorCode.BAD_CREDENTIALS, 'Proxy-Authorization is given twice')
    authorization = value
  }
  return { value: { ...target, ...(authorization === undefined ? {} : basicCredentials(authorization)) }, bytesRead: end }
}

/** The index just after the empty line that ends the head, searching after `from` (a LF). */
function headEnd (bytes: Uint8Array, from: number): number | undefined {
  for (let i = from; i >= 0 && i < bytes.length; i = bytes.indexOf(0x0a, i + 1)) {
    if (bytes[i + 1] === 0x0a) return i + 2
    if (bytes[i + 1] === 0x0d && bytes[i + 2] === 0x0a) return i + 3
  }
  return undefined
}

/** The line from `start` to the LF at `lf`, without its CR; CR or NUL inside it are refused. */
function line (bytes: Uint8Array, start: number, lf: number): string {
  const stop = lf > start && bytes[lf - 1] === 0x0d ? lf - 1 : lf
  const text = Buffer.from(bytes.subarray(start, stop)).toString('latin1')
  if (/[\r\0]/.test(text)) throw malformed(HttpFrontErrorCode.MALFORMED, 'a line of the request head holds a CR or NUL')
  return text
}

function requestTarget (text: string): Pick<ConnectHead, 'host' | 'port' | 'addressType'> {
  const parts = REQUEST_LINE.exec(text)
  if (parts === null || !TOKEN.test(parts[1]!)) throw malformed(HttpFrontErrorCode.MALFORMED, 'the request line is not METHOD TARGET HTTP/x.y')
  if (parts[1] !== 'CONNECT') {
    throw new HttpFrontError(HttpFrontErrorCode.METHOD_NOT_ALLOWED, 'only CONNECT is served: this is a tunnel, not a full HTTP proxy', { status: 405 })
  }
  if (parts[3] !== 'HTTP/1.1' && parts[3] !== 'HTTP/1.0') {
    throw new HttpFrontError(HttpFrontErrorCode.VERSION_UNSUPPORTED, 'only HTTP/1.0 and HTTP/1.1 are served', { status: 505 })
  }
  // authority-form only: host:port, with an IPv6 address in brackets.
  const authority = parts[2]!
  const colon = authority.lastIndexOf(':')
  const portText = authority.slice(colon + 1)
  const port = Number(portText)
  if (colon < 0 || !PORT.test(portText) || port < 1 || port > 65535) {
    throw malformed(HttpFrontErrorCode.MALFORMED, 'the CONNECT target needs a port 1..65535 (host:port)')
  }
  const host = authority.slice(0, colon)
  if (host.startsWith('[') && host.endsWith(']') && isIPv6(host.slice(1, -1))) {
    // The WHATWG serializer writes RFC 5952 text, as the SOCKS decoder does.
    return { host: new URL(`http://${host}/`).hostname.slice(1, -1), port, addressType: 'ipv6' }
  }
  if (isIPv4(host)) return { host, port, addressType: 'ipv4' }
  const name = Buffer.from(host, 'latin1')
  if (name.length === 0 || name.length > MAX_FIELD_BYTES || !isPlausibleHostname(name)) {
    throw malformed(HttpFrontErrorCode.MALFORMED, 'the CONNECT target is not a host name, an IPv4 address or a bracketed IPv6 address')
  }
  return { host, port, addressType: 'hostname' }
}

function field (text: string): { name: string, value: string } {
  if (text.startsWith(' ') || text.startsWith('\t')) throw malformed(HttpFrontErrorCode.MALFORMED, 'obsolete line folding in the request head')
  const colon = text.indexOf(':')
  const name = colon < 0 ? '' : text.slice(0, colon)
  if (!TOKEN.test(name)) throw malformed(HttpFrontErrorCode.MALFORMED, 'a header line is not NAME: VALUE')
  return { name, value: text.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '') }
}

/** `Basic base64(user:password)` (RFC 7617) → the SOCKS5-style credentials. */
function basicCredentials (value: string): { username: string, password: string } {
  const [scheme, token, ...rest] = value.split(/[ \t]+/)
  if (scheme?.toLowerCase() !== 'basic' || token === undefined || rest.length > 0 || !BASE64.test(token)) {
    throw malformed(HttpFrontErrorCode.BAD_CREDENTIALS, 'Proxy-Authorization must be Basic credentials (they choose the circuit and are not checked)')
  }
  let text: string
  try {
    text = strictUtf8.decode(Buffer.from(token, 'base64'))
  } catch (err) {
    throw malformed(HttpFrontErrorCode.BAD_CREDENTIALS, 'Proxy-Authorization credentials are not valid UTF-8', err)
  }
  const colon = text.indexOf(':')
  const username = colon < 0 ? text : text.slice(0, colon)
  const password = colon < 0 ? '' : text.slice(colon + 1)
  if (Buffer.byteLength(username) > MAX_FIELD_BYTES || Buffer.byteLength(password) > MAX_FIELD_BYTES) {
    throw malformed(HttpFrontErrorCode.BAD_CREDENTIALS, `Proxy-Authorization user and password are each at most ${MAX_FIELD_BYTES} bytes`)
  }
  return { username, password }
}

function malformed (code: HttpFrontErrorCode, message: string, cause?: unknown): HttpFrontError {
  return new HttpFrontError(code, message, { status: 400, ...(cause === undefined ? {} : { cause }) })
}

function tooLarge (): HttpFrontError {
  return new HttpFrontError(HttpFrontErrorCode.HEAD_TOO_LARGE, `the request head is longer than ${MAX_HEAD_BYTES} bytes`, { status: 431 })
}
