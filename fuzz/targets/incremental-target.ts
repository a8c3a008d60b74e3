/**
 * A target for the client doors' incremental decoders (SOCKS5 request, RFC 1929, SOCKS4/4a
 * request, HTTP CONNECT head), which all return `{ value, bytesRead }` for a complete
 * message and undefined for "need more bytes". The contract checked on every input: a
 * complete message decodes the same alone, each of its strict prefixes needs more bytes
 * (a throw there is a broken contract too), and where the decoder has a message cap, an
 * input of the cap's length never waits.
 */
import type { Decoded } from '../../src/client/socks/socks-request.js'
import { invariant, type FuzzTarget, type Outcome } from '../target.js'
import { bytesTarget, type BytesTargetOptions } from './bytes-target.js'

export interface IncrementalTargetOptions<T> extends Omit<BytesTargetOptions, 'run' | 'close'> {
  decode: (bytes: Uint8Array) => Decoded<T> | undefined
  /** The decoder's message cap: an input this long decodes or throws, it never waits. */
  capBytes?: number
  /** The outcome label of a complete message, after checks of its own. */
  classify: (decoded: Decoded<T>) => Outcome
}

export function incrementalTarget<T> (options: IncrementalTargetOptions<T>): FuzzTarget {
  const { decode, capBytes, classify, ...target } = options
  return bytesTarget({
    ...target,
    run (input) {
      const decoded = decode(input)
      if (decoded === undefined) {
        if (capBytes !== undefined) invariant(input.length < capBytes, 'an input as long as the message cap never waits')
        return 'need-more'
      }
      checkPrefixes(decode, input, decoded)
      return classify(decoded)
    },
  })
}

function checkPrefixes<T> (decode: (b: Uint8Array) => Decoded<T> | undefined, input: Uint8Array, done: Decoded<T>): void {
  invariant(done.bytesRead >= 1 && done.bytesRead <= input.length, 'bytesRead within the input')
  const again = decode(input.subarray(0, done.bytesRead))
  invariant(again !== undefined && again.bytesRead === done.bytesRead, 'the message alone decodes the same')
  for (const cut of [0, 1, done.bytesRead - 1]) {
    if (cut < 0 || cut >= done.bytesRead) continue
    let waits: boolean
    try { waits = decode(input.subarray(0, cut)) === undefined } catch { waits = false }
    invariant(waits, 'a prefix of a complete message needs more bytes')
  }
}
