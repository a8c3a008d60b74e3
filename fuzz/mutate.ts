/**
 * Input generation: mutations of valid encodings (made by our own encoders) and purely random
 * bytes. Bytes-level for binary codecs; structure-level for JSON (a value replaced, a key
 * dropped or added, a type swapped), since byte flips in JSON mostly make a syntax error and
 * never reach the schema behind it.
 */
import type { Prng } from './prng.js'

/** Where a length or count field sits in the corpus encodings: interesting integers go there often. */
export interface FieldHint {
  readonly offset: number
  /** 1, 2 or 4 bytes, big-endian. */
  readonly width: 1 | 2 | 4
  /** Values worth trying beyond the generic ones (a maximum, one over). */
  readonly values?: readonly number[]
}

export interface BytesMutation {
  readonly corpus: readonly Uint8Array[]
  /** Longest purely random input (default: the longest corpus entry plus 64). */
  readonly maxRandomLength?: number
  readonly hints?: readonly FieldHint[]
}

const INTERESTING_8 = [0, 1, 2, 0x7f, 0x80, 0xfe, 0xff]
const INTERESTING_16 = [0, 1, 0xff, 0x100, 0x7fff, 0x8000, 0xfffe, 0xffff]
const INTERESTING_32 = [0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x10000]

/** One input: a mutated corpus entry (most of the time) or random bytes. */
export function mutateBytes (rng: Prng, m: BytesMutation): Uint8Array {
  const longest = m.corpus.reduce((n, c) => Math.max(n, c.length), 0)
  if (m.corpus.length === 0 || rng.chance(0.08)) {
    const max = m.maxRandomLength ?? longest + 64
    // Half the random inputs at a corpus length: they get past the length check.
    const length = m.corpus.length > 0 && rng.chance(0.5) ? rng.pick(m.corpus).length : rng.below(max + 1)
    return rng.bytes(length)
  }
  let out: Uint8Array = Uint8Array.from(rng.pick(m.corpus))
  const rounds = 1 + rng.below(rng.chance(0.7) ? 2 : 8)
  for (let r = 0; r < rounds; r++) out = mutateOnce(rng, out, m)
  return out
}

function mutateOnce (rng: Prng, input: Uint8Array, m: BytesMutation): Uint8Array {
  const n = input.length
  switch (rng.below(12)) {
    case 0: case 1: { // bit flip
      if (n === 0) return input
      input[rng.below(n)]! ^= 1 << rng.below(8)
      return input
    }
    case 2: { // byte set
      if (n === 0) return input
      input[rng.below(n)] = rng.chance(0.5) ? rng.pick(INTERESTING_8) : rng.u32() & 0xff
      return input
    }
    case 3: case 4: { // an interesting integer, at a hinted field or anywhere
      const hint = m.hints !== undefined && m.hints.length > 0 && rng.chance(0.7) ? rng.pick(m.hints) : undefined
      const width = hint?.width ?? rng.pick([1, 2, 4] as const)
      const offset = hint?.offset ?? (n >= width ? rng.below(n - width + 1) : 0)
      if (offset + width > n) return input
      const generic = width === 1 ? INTERESTING_8 : width === 2 ? INTERESTING_16 : INTERESTING_32
      const pool = [...generic, ...(hint?.values ?? []), n, n - 1, n + 1]
      let value = rng.pick(pool)
      if (rng.chance(0.2)) value += rng.int(-2, 2)
      writeBE(input, offset, width, value)
      return input
    }
    case 5: { // truncate
      return input.slice(0, rng.below(n + 1))
    }
    case 6: { // extend with zeros or random bytes
      const extra = rng.chance(0.5) ? rng.int(1, 4) : rng.int(1, 300)
      const out = new Uint8Array(n + extra)
      out.set(input)
      if (rng.chance(0.5)) rng.fill(out.subarray(n))
      return out
    }
    case 7: { // splice: a prefix of this one, a suffix of another corpus entry
      const other = rng.pick(m.corpus)
      const cut = rng.below(n + 1)
      const from = rng.below(other.length + 1)
      const out = new Uint8Array(cut + other.length - from)
      out.set(input.subarray(0, cut))
      out.set(other.subarray(from), cut)
      return out
    }
    case 8: { // overwrite a range with random bytes
      if (n === 0) return input
      const start = rng.below(n)
      rng.fill(input.subarray(start, start + rng.int(1, 32)))
      return input
    }
    case 9: { // duplicate a range in place (repeated structures, lengths that disagree)
      if (n === 0) return input
      const start = rng.below(n)
      const len = rng.int(1, Math.min(64, n - start))
      const at = rng.below(n + 1)
      const out = new Uint8Array(n + len)
      out.set(input.subarray(0, at))
      out.set(input.subarray(start, start + len), at)
      out.set(input.subarray(at), at + len)
      return out
    }
    case 10: { // delete a range
      if (n === 0) return input
      const start = rng.below(n)
      const len = rng.int(1, Math.min(64, n - start))
      const out = new Uint8Array(n - len)
      out.set(input.subarray(0, start))
      out.set(input.subarray(start + len), start)
      return out
    }
    default: { // zero a range (padding that should be zero, or should not)
      if (n === 0) return input
      const start = rng.below(n)
      input.fill(rng.chance(0.5) ? 0 : 0xff, start, start + rng.int(1, 64))
      return input
    }
  }
}

function writeBE (out: Uint8Array, offset: number, width: number, value: number): void {
  let v = value >>> 0
  for (let i = width - 1; i >= 0; i--) { out[offset + i] = v & 0xff; v >>>= 8 }
}

// --- JSON ----------------------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

const encoder = new TextEncoder()

/** One input: a structurally mutated corpus document, sometimes byte-mutated on top, or random text. */
export function mutateJson (rng: Prng, corpus: readonly unknown[]): Uint8Array {
  if (rng.chance(0.03)) return randomJsonish(rng)
  const doc = structuredClone(rng.pick(corpus)) as Json
  let value: Json = doc
  const rounds = 1 + rng.below(rng.chance(0.7) ? 2 : 6)
  for (let r = 0; r < rounds; r++) value = mutateValue(rng, value, corpus as Json[])
  const text = rng.chance(0.5) ? JSON.stringify(value) : JSON.stringify(value, null, 2)
  const bytes = encoder.encode(text ?? 'null')
  if (rng.chance(0.15)) return mutateBytes(rng, { corpus: [bytes] })
  return bytes
}

/** Replace, drop or add one thing somewhere in `root` (returns the new root). */
function mutateValue (rng: Prng, root: Json, corpus: Json[]): Json {
  const slots = collect(root)
  const slot = rng.pick(slots)
  const replaced = (() => {
    const current = slot.get()
    switch (rng.below(8)) {
      case 0: case 1: return interestingValue(rng, corpus)
      case 2: return typeSwap(rng, current)
      case 3: // a whole subtree from elsewhere (a hop where a key was, the doc inside itself)
        return structuredClone(rng.pick(collect(rng.pick(corpus))).get())
      case 4: {
        if (isObject(current)) {
          const keys = Object.keys(current)
          if (keys.length > 0 && rng.chance(0.6)) { delete current[rng.pick(keys)]; return current }
          current[rng.pick(['extra', 'role', 'version', '__proto__', 'constructor', 'x'.repeat(rng.int(1, 300))])] = interestingValue(rng, corpus)
          return current
        }
        if (Array.isArray(current)) {
          if (current.length > 0 && rng.chance(0.5)) current.splice(rng.below(current.length), 1)
          else if (current.length > 0) current.push(structuredClone(rng.pick(current)))
          else current.push(interestingValue(rng, corpus))
          return current
        }
        return interestingValue(rng, corpus)
      }
      case 5: return typeof current === 'number' ? numberNear(rng, current) : interestingValue(rng, corpus)
      case 6: return typeof current === 'string' ? stringNear(rng, current) : interestingValue(rng, corpus)
      default: return Array.isArray(current) ? Array.from({ length: rng.int(0, 12) }, () => structuredClone(rng.pick(current.length > 0 ? current : [null]))) : interestingValue(rng, corpus)
    }
  })()
  if (slot.set === undefined) return replaced
  slot.set(replaced)
  return root
}

interface Slot { get (): Json, set?: (value: Json) => void }

function collect (root: Json): Slot[] {
  const out: Slot[] = [{ get: () => root }]
  const walk = (value: Json, depth: number): void => {
    if (depth > 12) return
    if (Array.isArray(value)) {
      value.forEach((item, i) => { out.push({ get: () => value[i]!, set: (v) => { value[i] = v } }); walk(item, depth + 1) })
    } else if (isObject(value)) {
      for (const key of Object.keys(value)) {
        out.push({ get: () => value[key]!, set: (v) => { value[key] = v } })
        walk(value[key]!, depth + 1)
      }
    }
  }
  walk(root, 0)
  return out
}

function isObject (value: Json): value is { [key: string]: Json } {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function interestingValue (rng: Prng, corpus: Json[]): Json {
  switch (rng.below(14)) {
    case 0: return null
    case 1: return rng.chance(0.5)
    case 2: return rng.pick([0, -1, 1, 2, 255, 256, 65535, 65536, 2 ** 31, 2 ** 32, 2 ** 32 + 1, 2 ** 53, -(2 ** 53), 1e308, -0, 0.5, 1e-7])
    case 3: return ''
    case 4: return 'x'.repeat(rng.pick([1, 63, 64, 65, 255, 256, 1024, 70000]))
    case 5: return rng.pick(['00'.repeat(32), 'ff'.repeat(32), 'AB'.repeat(32), '0'.repeat(63), '00'.repeat(64), 'zz'.repeat(32)])
    case 6: return rng.pick(['127.0.0.1:0', '127.0.0.1:65536', '[::1]:1', '::1', ':80', 'host:', 'a'.repeat(300) + ':1', '1.2.3.4:1', 'localhost:9000', '[]:1', '0.0.0.0:1'])
    case 7: return rng.pick(['mix', 'exit', 'client', 'node', 'cascade', 'off', 'strict', 'elastic', 'debug', 'json', 'accept *:*', 'reject 0.0.0.0/0:*', 'accept [::]/0:1-65535', 'accept 1.2.3.4/33:1', 'http://127.0.0.1:1/x'])
    case 8: return []
    case 9: return {}
    case 10: { let v: Json = 1; for (let i = rng.int(1, 80); i > 0; i--) v = [v]; return v }
    case 11: return String.fromCharCode(...Array.from({ length: rng.int(1, 12) }, () => rng.pick([0, 9, 10, 0x7f, 0xe9, 0x200b, 0xd800, 0xdfff, 0xfeff, 0x41])))
    case 12: return structuredClone(rng.pick(collect(rng.pick(corpus))).get())
    default: return rng.u32() % 2 === 0 ? rng.int(-1000, 100000) : String(rng.int(0, 100000))
  }
}

function typeSwap (rng: Prng, value: Json): Json {
  if (typeof value === 'number') return rng.chance(0.5) ? String(value) : [value]
  if (typeof value === 'string') return /^-?[0-9.]+$/.test(value) ? Number(value) : rng.chance(0.5) ? [value] : { value }
  if (typeof value === 'boolean') return value ? 1 : 'false'
  if (Array.isArray(value)) return value.length > 0 ? value[0]! : {}
  if (value === null) return 0
  return Object.values(value)[0] ?? []
}

function numberNear (rng: Prng, n: number): Json {
  return rng.pick([n + 1, n - 1, -n, n * 2, n + 0.5, n * 1000, 0, Number.MAX_SAFE_INTEGER, n / 3])
}

function stringNear (rng: Prng, s: string): Json {
  if (s.length === 0) return 'a'
  const i = rng.below(s.length)
  switch (rng.below(5)) {
    case 0: return s.slice(0, i)
    case 1: return s + s.slice(i)
    case 2: return s.slice(0, i) + String.fromCharCode(rng.pick([0x30, 0x41, 0x61, 0x66, 0x67, 0x3a, 0x5b, 0x5d, 0x20, 0x2f, 0x25, 0xff])) + s.slice(i + 1)
    case 3: return s.toUpperCase()
    default: return ` ${s}`
  }
}

/** Text that is almost JSON: random tokens, nesting, stray bytes. */
function randomJsonish (rng: Prng): Uint8Array {
  const tokens = ['{', '}', '[', ']', ',', ':', '"', '"a"', '1', '-', '0', 'e', '.', 'true', 'null', ' ', '\n', '\\', '\\u00', '"\\ud800"', '//', "'", '\u0000', '\u00e9', '1e999', '-0', '01']
  let s = ''
  for (let i = rng.int(0, 60); i > 0; i--) s += rng.pick(tokens)
  return encoder.encode(s)
}
