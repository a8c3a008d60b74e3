/**
 * Targets in src/client/socks: the greeting (socksv5's parser driven by readGreeting, fed in
 * chunks as TCP may cut them), the request and the RFC 1929 credentials (the last two
 * incremental: incremental-target.ts).
 */
import { EventEmitter } from 'node:events'
import type { Socket } from 'node:net'
import { readGreeting, selectMethod } from '../../src/client/socks/greeting.js'
import { SocksError } from '../../src/client/socks/socks-error.js'
import { decodeRequest, MAX_REQUEST_BYTES } from '../../src/client/socks/socks-request.js'
import { decodeUserPass, MAX_USER_PASS_BYTES } from '../../src/client/socks/user-pass.js'
import { invariant, type TargetSpec } from '../target.js'
import { bytesTarget } from './bytes-target.js'
import { incrementalTarget } from './incremental-target.js'

/**
 * The part of a socket socksv5's parser touches ('data' listeners, pause, resume, unshift):
 * Node's own EventEmitter, so the parser runs unchanged and synchronously, a million times.
 */
class ChunkSource extends EventEmitter {
  readonly unshifted: Buffer[] = []
  pause (): this { return this }
  resume (): this { return this }
  unshift (chunk: Buffer): void { this.unshifted.push(chunk) }
}

const greeting: TargetSpec = {
  name: 'socks-greeting',
  make () {
    const corpus = [
      Uint8Array.of(5, 1, 0),
      Uint8Array.of(5, 2, 0, 2),
      Uint8Array.of(5, 1, 2, 5, 1, 0, 3, 1, 0x61, 0, 80), // a request right behind it
      Uint8Array.from([5, 255, ...new Array<number>(255).fill(0x80)]),
      Uint8Array.of(4, 1, 0, 80, 127, 0, 0, 1, 0),
    ]
    return bytesTarget({
      name: 'socks-greeting',
      errors: [SocksError],
      corpus,
      hints: [{ offset: 1, width: 1, values: [0, 1, 255] }],
      run (input) {
        const socket = new ChunkSource()
        let methods: Uint8Array | undefined
        let error: SocksError | undefined
        let calls = 0
        readGreeting(socket as unknown as Socket, (m) => { calls++; methods = m }, (err) => { calls++; error = err })
        // Cut by a rule of the input itself, so that it replays with the same chunks.
        const size = 1 + (input.reduce((a, b) => a + b, 0) % 7)
        for (let at = 0; at < input.length && calls === 0; at += size) {
          socket.emit('data', Buffer.from(input.subarray(at, at + size)))
        }
        invariant(calls <= 1, 'at most one callback')
        if (error !== undefined) throw error
        if (methods === undefined) return 'need-more'
        invariant(methods.length >= 1 && methods.length <= 255, 'a method list of 1..255')
        const after = socket.unshifted.reduce((n, c) => n + c.length, 0)
        const read = Math.min(input.length, Math.ceil((2 + methods.length) / size) * size)
        invariant(2 + methods.length + after === read, 'every byte after the greeting is handed back')
        selectMethod(methods, { none: true, userPass: true })
        return 'methods'
      },
    })
  },
}

const request: TargetSpec = {
  name: 'socks-request',
  make (rng) {
    const corpus = [
      Uint8Array.of(5, 1, 0, 1, 127, 0, 0, 1, 0, 80),
      Uint8Array.from([5, 1, 0, 4, ...rng.bytes(16), 1, 187]),
      Uint8Array.from([5, 1, 0, 3, 11, ...Buffer.from('example.org'), 0, 80, ...Buffer.from('GET / HTTP/1.1\r\n')]),
      Uint8Array.from([5, 1, 0, 3, 255, ...new Array<number>(255).fill(0x61), 0xff, 0xff]),
      Uint8Array.of(5, 2, 0, 1, 10, 0, 0, 1, 0, 21),
    ]
    return incrementalTarget({
      name: 'socks-request',
      errors: [SocksError],
      corpus,
      maxRandomLength: MAX_REQUEST_BYTES + 8,
      hints: [{ offset: 3, width: 1, values: [1, 3, 4] }, { offset: 4, width: 1, values: [0, 255] }, { offset: 1, width: 1, values: [1, 2, 3] }],
      decode: decodeRequest,
      classify (decoded) {
        invariant(decoded.value.port >= 1 && decoded.value.port <= 65535, 'port 1..65535')
        return decoded.value.addressType
      },
    })
  },
}

const userPass: TargetSpec = {
  name: 'socks-user-pass',
  make () {
    const corpus = [
      Uint8Array.from([1, 4, ...Buffer.from('user'), 4, ...Buffer.from('pass')]),
      Uint8Array.of(1, 0, 0),
      Uint8Array.from([1, 255, ...new Array<number>(255).fill(0x75), 255, ...new Array<number>(255).fill(0x70)]),
      Uint8Array.from([1, 4, ...Buffer.from('ü€'.slice(0, 2)), 2, 0xc3, 0x28, 5, 1, 0]),
    ]
    return incrementalTarget({
      name: 'socks-user-pass',
      errors: [SocksError],
      corpus,
      maxRandomLength: MAX_USER_PASS_BYTES + 8,
      hints: [{ offset: 1, width: 1, values: [0, 255] }],
      decode: decodeUserPass,
      classify: () => 'credentials',
    })
  },
}

export const socksTargets: readonly TargetSpec[] = [greeting, request, userPass]
