/**
 * A small validator for mixgate's JSON config files (no ajv or zod: a node's config is a
 * few dozen fields, and the messages matter more than the machinery).
 *
 * A spec is built from builders and describes both the checks and the TypeScript type:
 *
 *   const spec = obj({
 *     roundMs: int({ min: 1, max: 10000, default: 100 }),
 *     successor: obj({ address: hostPort(), linkKey: hex(32) }),
 *     profile: oneOf(['strict', 'elastic', 'off'], { default: 'strict' }),
 *   }, { optional: ['successor'] })
 *   const config = validate(spec, JSON.parse(text))   // typed as Infer<typeof spec>
 *
 * Rules: unknown keys are errors (with a "did you mean" for near misses); a field is
 * required unless it has a default or is listed in `optional`; defaults are raw JSON values
 * validated like given ones (so `hostPort({ default: '127.0.0.1:1080' })` works); `null` is
 * a wrong type, not "absent". Every problem is collected, and `ConfigError` lists them all,
 * one per line, each naming its field path exactly as the operator would write it.
 *
 * Key fields (`hex`, `base64`) never echo their input in a message, and decode straight
 * into a fresh Uint8Array; pass `secret: true` to `str` for other confidential strings.
 */
import { ConfigError, type ConfigIssue } from './config-error.js'
import { AddressError, parseHostPort, type HostPort } from './address.js'
import { suggest } from './suggest.js'

export { ConfigError, type ConfigIssue } from './config-error.js'

/** Returned by `Spec.check` for a value that produced at least one issue. */
export const INVALID: unique symbol = Symbol('invalid config value')
export type Invalid = typeof INVALID

export interface Spec<T> {
  /**
   * Check `input` found at `path`; push an issue for each thing wrong with it. Returns the
   * typed value, or INVALID if anything was pushed.
   */
  readonly check: (input: unknown, path: string, issues: ConfigIssue[]) => T | Invalid
  /** The raw value to check in place of an absent field; `undefined` for none. */
  readonly defaultInput: unknown
}

/** The type a spec produces: `Infer<typeof spec>`. */
export type Infer<S> = S extends Spec<infer T> ? T : never

/** Check `value` against `spec`: the typed value with defaults filled in, or a ConfigError. */
export function validate<T> (spec: Spec<T>, value: unknown): T {
  const issues: ConfigIssue[] = []
  const result = spec.check(value, '', issues)
  if (result === INVALID || issues.length > 0) throw ConfigError.fromIssues(issues)
  return result
}

// --- scalars ------------------------------------------------------------------------

export interface StrOptions {
  readonly pattern?: RegExp
  /** What the pattern means, for messages: `must be ${patternHint}` (default: the regex). */
  readonly patternHint?: string
  readonly nonEmpty?: boolean
  readonly maxLength?: number
  /** Never quote the value in messages. */
  readonly secret?: boolean
  readonly default?: string
}

export function str (options: StrOptions = {}): Spec<string> {
  const { pattern, nonEmpty = false, maxLength, secret = false } = options
  const got = (value: string): string => secret ? `a string of ${value.length} characters` : show(value)
  return withDefault(options.default, (input, path, issues) => {
    if (typeof input !== 'string') return fail(issues, path, `expected a string, got ${show(input)}`)
    if (nonEmpty && input === '') return fail(issues, path, 'must not be empty')
    if (maxLength !== undefined && input.length > maxLength) {
      return fail(issues, path, `must be at most ${maxLength} characters long, got ${input.length}`)
    }
    if (pattern !== undefined) {
      pattern.lastIndex = 0 // a /g or /y regex carries state between test() calls
      if (!pattern.test(input)) {
        return fail(issues, path, `must be ${options.patternHint ?? `a string matching ${String(pattern)}`}, got ${got(input)}`)
      }
    }
    return input
  })
}

export interface IntOptions {
  readonly min?: number
  readonly max?: number
  readonly default?: number
}

export function int (options: IntOptions = {}): Spec<number> {
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = options
  const range = options.min !== undefined && options.max !== undefined
    ? ` between ${min} and ${max}`
    : options.min !== undefined ? ` >= ${min}` : options.max !== undefined ? ` <= ${max}` : ''
  return withDefault(options.default, (input, path, issues) => {
    if (typeof input !== 'number' || !Number.isSafeInteger(input) || input < min || input > max) {
      return fail(issues, path, `must be an integer${range}, got ${show(input)}`)
    }
    return input
  })
}

export function bool (options: { readonly default?: boolean } = {}): Spec<boolean> {
  return withDefault(options.default, (input, path, issues) => {
    if (typeof input !== 'boolean') return fail(issues, path, `expected true or false, got ${show(input)}`)
    return input
  })
}

type Literal = string | number | boolean

/** One of a fixed list of values: `oneOf(['strict', 'elastic', 'off'])`. */
export function oneOf<const V extends readonly Literal[]> (values: V, options: { readonly default?: V[number] } = {}): Spec<V[number]> {
  const listed = values.map((v) => JSON.stringify(v)).join(', ')
  return withDefault(options.default, (input, path, issues) => {
    const found = values.find((v) => v === input)
    if (found !== undefined) return found
    const near = typeof input === 'string' ? suggest(input, values.filter((v): v is string => typeof v === 'string')) : undefined
    const hint = near === undefined ? '' : ` (did you mean ${JSON.stringify(near)}?)`
    return fail(issues, path, `expected one of ${listed}, got ${show(input)}${hint}`)
  })
}

/** `HOST:PORT`, `[IPv6]:PORT` or `name:PORT`, parsed into `{ host, port }`. */
export function hostPort (options: { readonly allowZeroPort?: boolean, readonly default?: string } = {}): Spec<HostPort> {
  return withDefault(options.default, (input, path, issues) => {
    if (typeof input !== 'string') return fail(issues, path, `expected HOST:PORT, got ${show(input)}`)
    try {
      return parseHostPort(input, options)
    } catch (err) {
      if (!(err instanceof AddressError)) throw err
      return fail(issues, path, `${err.message}, got ${show(input)}`)
    }
  })
}

/** Exactly `bytes` bytes written as 2×bytes hex digits (either case), as a fresh Uint8Array. */
export function hex (bytes: number, options: { readonly default?: string } = {}): Spec<Uint8Array> {
  const expected = `expected ${bytes} bytes as ${2 * bytes} hex digits`
  return withDefault(options.default, (input, path, issues) => {
    if (typeof input !== 'string') return fail(issues, path, `${expected}, got ${show(input)}`)
    if (input.length !== 2 * bytes) return fail(issues, path, `${expected}, got ${input.length} characters`)
    const decoded = decodeHex(input)
    if (decoded === undefined) return fail(issues, path, `${expected}, got a character that is not a hex digit`)
    return decoded
  })
}

/** Exactly `bytes` bytes in standard base64 (padding optional), as a fresh Uint8Array. */
export function base64 (bytes: number, options: { readonly default?: string } = {}): Spec<Uint8Array> {
  const expected = `expected ${bytes} bytes in base64`
  return withDefault(options.default, (input, path, issues) => {
    if (typeof input !== 'string') return fail(issues, path, `${expected}, got ${show(input)}`)
    const decoded = decodeBase64(input)
    if (decoded === undefined) return fail(issues, path, `${expected}, got text that is not canonical base64`)
    if (decoded.length !== bytes) {
      const length = decoded.length
      decoded.fill(0)
      return fail(issues, path, `${expected}, got ${length} bytes`)
    }
    return decoded
  })
}

// --- containers ---------------------------------------------------------------------

export interface ArrOptions {
  readonly minLength?: number
  readonly maxLength?: number
  readonly default?: readonly unknown[]
}

export function arr<T> (item: Spec<T>, options: ArrOptions = {}): Spec<T[]> {
  const { minLength = 0, maxLength = Infinity } = options
  return withDefault(options.default, (input, path, issues) => {
    if (!Array.isArray(input)) return fail(issues, path, `expected an array, got ${show(input)}`)
    if (input.length < minLength) return fail(issues, path, `must have at least ${count(minLength, 'item')}, got ${input.length}`)
    if (input.length > maxLength) return fail(issues, path, `must have at most ${count(maxLength, 'item')}, got ${input.length}`)
    const out: T[] = []
    let ok = true
    input.forEach((element, i) => {
      const value = item.check(element, `${path}[${i}]`, issues)
      if (value === INVALID) ok = false
      else out.push(value)
    })
    return ok ? out : INVALID
  })
}

type Fields = Record<string, Spec<unknown>>

/** Flattens an intersection so editors show `{ a: number, b?: string }`. */
type Simplify<T> = { [K in keyof T]: T[K] } & {}

/** The object `obj(fields, { optional: O })` produces: fields in O may be absent. */
export type ObjectOf<F extends Fields, O extends keyof F> = Simplify<
  { [K in Exclude<keyof F, O>]: Infer<F[K]> } & { [K in O]?: Infer<F[K]> }
>

export interface ObjOptions<O> {
  /** Fields that may be left out (and have no default); they are absent from the result. */
  readonly optional?: readonly O[]
  /** A raw value for an absent object, e.g. `{}` to mean "all fields at their defaults". */
  readonly default?: Record<string, unknown>
}

export function obj<F extends Fields, const O extends keyof F & string = never> (fields: F, options: ObjOptions<O> = {}): Spec<ObjectOf<F, O>> {
  const optional = new Set<string>(options.optional ?? [])
  const known = Object.keys(fields)
  for (const name of optional) {
    if (!known.includes(name)) throw new TypeError(`optional field "${name}" is not a field`)
    if (fields[name]!.defaultInput !== undefined) throw new TypeError(`field "${name}" has a default and cannot also be optional`)
  }
  return withDefault(options.default, (input, path, issues) => {
    if (!isPlainObject(input)) return fail(issues, path, `expected an object, got ${show(input)}`)
    let ok = true
    for (const key of Object.keys(input)) {
      if (Object.hasOwn(fields, key)) continue
      const near = suggest(key, known)
      const hint = near === undefined ? '' : ` (did you mean ${JSON.stringify(near)}?)`
      issues.push({ path: join(path, key), message: `unknown config field ${JSON.stringify(join(path, key))}${hint}` })
      ok = false
    }
    const out: Record<string, unknown> = {}
    for (const name of known) {
      const spec = fields[name]!
      const at = join(path, name)
      let raw = Object.hasOwn(input, name) ? input[name] : undefined
      if (raw === undefined) {
        if (spec.defaultInput !== undefined) raw = spec.defaultInput
        else if (optional.has(name)) continue
        else {
          fail(issues, at, 'required')
          ok = false
          continue
        }
      }
      const value = spec.check(raw, at, issues)
      if (value === INVALID) ok = false
      else out[name] = value
    }
    return ok ? out as ObjectOf<F, O> : INVALID
  })
}

/** A spec with one more check on the valid value; `test` returns a problem, or undefined. */
export function refine<T> (spec: Spec<T>, test: (value: T) => string | undefined): Spec<T> {
  return {
    defaultInput: spec.defaultInput,
    check (input, path, issues) {
      const value = spec.check(input, path, issues)
      if (value === INVALID) return INVALID
      const problem = test(value)
      return problem === undefined ? value : fail(issues, path, problem)
    },
  }
}

// --- helpers ------------------------------------------------------------------------

/**
 * A spec from a check function and an optional default. The default is checked once here,
 * so a wrong default is a programming error found at start, not an operator's problem.
 */
function withDefault<T> (defaultInput: unknown, check: Spec<T>['check']): Spec<T> {
  if (defaultInput !== undefined) {
    const issues: ConfigIssue[] = []
    check(defaultInput, '(default)', issues)
    if (issues.length > 0) throw new TypeError(`invalid default: ${issues.map((i) => i.message).join('; ')}`)
  }
  return { check, defaultInput }
}

function fail (issues: ConfigIssue[], path: string, problem: string): Invalid {
  issues.push({ path, message: path === '' ? `config: ${problem}` : `config field ${JSON.stringify(path)}: ${problem}` })
  return INVALID
}

function join (path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`
}

function isPlainObject (value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

const SHOWN_CHARACTERS = 40

/** A wrong value, as a message shows it: strings quoted and cut short, containers named. */
function show (value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  switch (typeof value) {
    case 'string':
      return value.length > SHOWN_CHARACTERS ? `${JSON.stringify(value.slice(0, SHOWN_CHARACTERS))}…` : JSON.stringify(value)
    case 'number':
    case 'boolean':
      return String(value)
    case 'object':
      return 'an object'
    default:
      return typeof value
  }
}

function count (n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`
}

/** Hex digits to bytes without an intermediate Buffer (no pooled copy of key bytes). */
function decodeHex (text: string): Uint8Array | undefined {
  const out = new Uint8Array(text.length / 2)
  for (let i = 0; i < out.length; i++) {
    const high = nibble(text.charCodeAt(2 * i))
    const low = nibble(text.charCodeAt(2 * i + 1))
    if (high < 0 || low < 0) {
      out.fill(0)
      return undefined
    }
    out[i] = (high << 4) | low
  }
  return out
}

/** The value of one hex digit's character code, or -1. Shared with the key-file reader. */
export function nibble (code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30 // 0-9
  const lower = code | 0x20
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10 // a-f, A-F
  return -1
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

/**
 * Standard base64, strictly: Buffer's decoder skips characters it does not know and ignores
 * stray bits, so the text must use the alphabet only and re-encode to itself. The decoded
 * bytes are copied out of Buffer's shared pool and the pooled copy wiped.
 */
function decodeBase64 (text: string): Uint8Array | undefined {
  if (!BASE64.test(text)) return undefined
  const pooled = Buffer.from(text, 'base64')
  const canonical = pooled.toString('base64').replace(/=+$/, '') === text.replace(/=+$/, '')
  const padded = !text.endsWith('=') || text.length % 4 === 0
  const out = canonical && padded ? new Uint8Array(pooled) : undefined
  pooled.fill(0)
  return out
}
