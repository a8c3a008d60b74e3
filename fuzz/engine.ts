/**
 * Runs one target: N inputs or until the time cap, each classified as an outcome, a typed
 * error (its code counted) or an escape (saved under fuzz/crashes/ with the input in hex).
 */
import { createHash } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { Prng, seedFor } from './prng.js'
import { expectedCode, type TargetSpec } from './target.js'

export interface RunOptions {
  readonly seed: number
  readonly inputs: number
  readonly timeCapMs: number
  /** Where escapes are saved (default: none are written). */
  readonly crashDir?: string
}

export interface Escape {
  readonly index: number
  readonly inputHex: string
  readonly error: string
  readonly message: string
  readonly stack: string
  /** The file it was saved to, if any. */
  readonly file?: string
}

export interface TargetReport {
  readonly name: string
  readonly seed: number
  readonly inputsPlanned: number
  readonly inputs: number
  readonly timeCapped: boolean
  readonly seconds: number
  /** Typed errors by code, and non-error outcomes by label. */
  readonly codes: Record<string, number>
  readonly outcomes: Record<string, number>
  readonly escapes: number
  /** Distinct escapes (by error name and top frame), at most 10 kept. */
  readonly distinctEscapes: Escape[]
  readonly slowest: { readonly ms: number, readonly index: number, readonly inputHex: string }
  readonly note?: string
}

const MAX_KEPT_ESCAPES = 10
const MAX_HEX_IN_REPORT = 256

export async function runTarget (spec: TargetSpec, options: RunOptions): Promise<TargetReport> {
  const seed = seedFor(options.seed, spec.name)
  const target = await spec.make(new Prng(seed))
  const rng = new Prng(seed ^ 0x5bd1e995)
  const planned = spec.defaultInputs === undefined ? options.inputs : Math.min(options.inputs, spec.defaultInputs)
  const codes: Record<string, number> = {}
  const outcomes: Record<string, number> = {}
  const kept = new Map<string, Escape>()
  let escapes = 0
  let slowest = { ms: -1, index: -1, inputHex: '' }
  const started = performance.now()
  const deadline = started + options.timeCapMs
  let i = 0
  try {
    for (; i < planned; i++) {
      // The clock is read every 64 inputs: cheap decoders run millions per second.
      if ((i & 63) === 0 && performance.now() > deadline) break
      const input = target.generate(rng)
      const t0 = performance.now()
      let outcome: string | undefined
      let failure: unknown
      let failed = false
      try {
        const result = target.run(input)
        outcome = typeof result === 'string' ? result : await result
      } catch (err) {
        failed = true
        failure = err
      }
      const ms = performance.now() - t0
      if (ms > slowest.ms) slowest = { ms, index: i, inputHex: hexOf(input, MAX_HEX_IN_REPORT) }
      if (!failed) {
        outcomes[outcome!] = (outcomes[outcome!] ?? 0) + 1
        continue
      }
      const code = expectedCode(target, failure)
      if (code !== undefined) {
        codes[code] = (codes[code] ?? 0) + 1
        continue
      }
      escapes++
      const escape = describeEscape(failure, i, input)
      const key = escapeKey(escape)
      if (!kept.has(key) && kept.size < MAX_KEPT_ESCAPES) {
        const file = options.crashDir === undefined ? undefined : saveCrash(options.crashDir, spec.name, seed, escape)
        kept.set(key, file === undefined ? escape : { ...escape, file })
      }
    }
  } finally {
    try {
      await target.close?.()
    } catch (err) {
      // A target checks at the end that its server survived: a failure there is an escape too.
      escapes++
      kept.set('close', describeEscape(err, i, new Uint8Array(0)))
    }
  }
  return {
    name: spec.name,
    seed,
    inputsPlanned: planned,
    inputs: i,
    timeCapped: i < planned,
    seconds: (performance.now() - started) / 1000,
    codes,
    outcomes,
    escapes,
    distinctEscapes: [...kept.values()],
    slowest: { ...slowest, ms: Math.round(slowest.ms * 1000) / 1000 },
    ...(spec.why === undefined ? {} : { note: spec.why }),
  }
}

function describeEscape (err: unknown, index: number, input: Uint8Array): Escape {
  const e = err instanceof Error ? err : new Error(String(err))
  return { index, inputHex: hexOf(input), error: e.name, message: e.message, stack: e.stack ?? '' }
}

/** Same error class thrown from the same place: one escape, however many inputs hit it. */
function escapeKey (escape: Escape): string {
  // The first line is the message (which may itself contain " at "): frames come after it.
  const frame = escape.stack.split('\n').slice(1).find((line) => line.trim().startsWith('at ')) ?? ''
  return `${escape.error}|${frame.trim()}`
}

function saveCrash (dir: string, target: string, seed: number, escape: Escape): string {
  mkdirSync(dir, { recursive: true })
  const id = createHash('sha256').update(escape.inputHex).digest('hex').slice(0, 12)
  const file = join(dir, `${target}-${id}.json`)
  writeFileSync(file, JSON.stringify({ target, targetSeed: seed, ...escape }, null, 2) + '\n')
  return file
}

export function hexOf (bytes: Uint8Array, max = Infinity): string {
  const hex = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
  return hex.length > max ? `${hex.slice(0, max)}…(${bytes.length} bytes)` : hex
}
