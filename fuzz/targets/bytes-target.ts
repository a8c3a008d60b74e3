/** A target over binary inputs: a corpus of valid encodings, mutated (mutate.ts). */
import { mutateBytes, type FieldHint } from '../mutate.js'
import type { FuzzTarget, Outcome } from '../target.js'

export interface BytesTargetOptions {
  name: string
  errors: FuzzTarget['errors']
  corpus: readonly Uint8Array[]
  hints?: readonly FieldHint[]
  maxRandomLength?: number
  run: (input: Uint8Array) => Outcome | Promise<Outcome>
  close?: () => Promise<void>
}

export function bytesTarget (options: BytesTargetOptions): FuzzTarget {
  const mutation = {
    corpus: options.corpus,
    ...(options.hints === undefined ? {} : { hints: options.hints }),
    ...(options.maxRandomLength === undefined ? {} : { maxRandomLength: options.maxRandomLength }),
  }
  return {
    name: options.name,
    errors: options.errors,
    generate: (rng) => mutateBytes(rng, mutation),
    run: options.run,
    ...(options.close === undefined ? {} : { close: options.close }),
  }
}

/** `prefix ‖ body`: inputs that carry a small selector (a hop position) before the bytes decoded. */
export function withPrefix (prefix: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + body.length)
  out[0] = prefix
  out.set(body, 1)
  return out
}
