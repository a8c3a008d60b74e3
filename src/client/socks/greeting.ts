/**
 * The greeting (RFC 1928 §3): read with socksv5's parser, then our choice of method.
 *
 * socksv5's `lib/server.parser.js` reads the greeting correctly, byte by byte across chunks,
 * holds at most 255 method bytes, and hands back the bytes after the greeting by unshifting
 * them into the paused socket, so nothing an eager app sends is lost. What it lacks, and this
 * file adds: typed errors (it emits plain Errors with only a message; its version is pinned
 * at 0.0.6, so mapping its two messages is stable) and a method choice that follows Tor
 * (socksv5's Server picks the first method in its own list, and only through its Server, which
 * we cannot use: see socks-connection.ts).
 */
import type { Socket } from 'node:net'
import Socksv5Parser from 'socksv5/lib/server.parser.js'
import { Method } from './socks-constants.js'
import { SocksError, SocksErrorCode } from './socks-error.js'

export interface AuthMethods {
  /** Serve apps that offer no authentication (METHOD 0x00). */
  readonly none: boolean
  /** Serve apps that offer username/password (METHOD 0x02); any credentials are accepted. */
  readonly userPass: boolean
}

/**
 * Reads the greeting from `socket`; calls exactly one of the callbacks, at most once. When
 * `onMethods` runs the socket is paused and holds every byte after the greeting. Returns a
 * function that stops reading (used when the connection fails for another reason).
 */
export function readGreeting (
  socket: Socket,
  onMethods: (methods: Uint8Array) => void,
  onError: (err: SocksError) => void
): () => void {
  const parser = new Socksv5Parser(socket)
  let done = false
  parser.once('methods', (methods: Buffer) => {
    if (done) return
    done = true
    onMethods(methods)
  })
  parser.on('error', (err: Error) => {
    parser.stop() // the parser stays attached after an error and would report every later chunk
    if (done) return
    done = true
    onError(greetingError(err))
  })
  return () => { done = true; parser.stop() }
}

function greetingError (err: Error): SocksError {
  // socksv5 0.0.6 has exactly two greeting errors: "Incompatible SOCKS protocol version: N"
  // and "Unexpected empty methods list".
  if (err.message.startsWith('Incompatible SOCKS protocol version')) {
    return new SocksError(SocksErrorCode.BAD_VERSION, 'greeting is not SOCKS version 5', { cause: err })
  }
  return new SocksError(SocksErrorCode.MALFORMED, 'greeting offers no methods', { cause: err })
}

/**
 * Tor's choice (proto_socks.c): username/password whenever the app offers it and it is
 * enabled, so that its credentials become the stream's isolation key (IsolateSOCKSAuth);
 * otherwise no authentication if offered and enabled; otherwise none acceptable.
 */
export function selectMethod (offered: Uint8Array, auth: AuthMethods): number | undefined {
  if (auth.userPass && offered.includes(Method.USER_PASS)) return Method.USER_PASS
  if (auth.none && offered.includes(Method.NO_AUTH)) return Method.NO_AUTH
  return undefined
}
