/**
 * Types for the part of socksv5 0.0.6 (CommonJS, untyped) that the front door builds on: the
 * server-side protocol parser, used for the greeting. Only what we call is declared.
 * See socks-connection.ts, socks-request.ts and user-pass.ts for why no more of it is used.
 */
declare module 'socksv5/lib/server.parser.js' {
  import { EventEmitter } from 'node:events'
  import type { Readable } from 'node:stream'

  /**
   * Reads from `stream` as soon as it is constructed. Emits 'methods' (Buffer of METHOD bytes)
   * after detaching itself, pausing the stream and unshifting any bytes after the greeting;
   * emits 'error' (a plain Error, message only) on a bad version or an empty method list.
   */
  class Parser extends EventEmitter {
    constructor (stream: Readable)
    authed: boolean
    start (): void
    stop (): void
  }
  export = Parser
}
