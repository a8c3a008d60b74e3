/**
 * mixgate's JSON config and descriptor schemas: zod 4 schemas, built with the messages an
 * operator reads.
 *
 *   const spec = obj({
 *     roundMs: int({ min: 1, max: 10000, default: 100 }),
 *     successor: obj({ address: hostPort(), linkKey: hex(32) }),
 *     profile: oneOf(['strict', 'elastic', 'off'], { default: 'strict' }),
 *   }, { optional: ['successor'] })
 *   const config = validate(spec, JSON.parse(text))   // typed as Infer<typeof spec>
 *
 * zod does the checking, the typing and the JSON Schema (`z.toJSONSchema(spec, { io: 'input' })`,
 * published as docs/mixgate.conf.schema.json); the builders here give every check its message
 * and `validate` turns zod's issues into one line per field, naming it exactly as the operator
 * would write it (`config field "hops[1].address": …`).
 *
 * Rules: unknown keys are errors (with a "did you mean" for near misses); a field is
 * required unless it has a default or is listed in `optional`; defaults are raw JSON values
 * validated like given ones (zod's `prefault`, so `hostPort({ default: '127.0.0.1:1080' })`
 * works); `null` is a wrong type, not "absent". Every field's first problem is reported, and
 * `ConfigError` lists them all, one per line.
 *
 * Key fields (`hex`, `base64`) never echo their input in a message, and decode straight
 * into a fresh Uint8Array; pass `secret: true` to `str` for other confidential strings.
 */
import { z } from 'zod'
import { ConfigError, type ConfigIssue } from './config-error.js'
import { AddressError, parseHostPort, type HostPort } from './address.js'
import { suggest } from './suggest.js'

export { ConfigError, type ConfigIssue } from './config-error.js'

/** A schema whose output is `T`; its input is JSON. */
export type Spec<T> = z.ZodType<T, any>

/** The type a spec produces: `Infer<typeof spec>`. */
export type Infer<S> = S extends z.ZodType<infer T, any> ? T : never

/** Check `value` against `spec`: the typed value with defaults filled in, or a ConfigError. */
export function validate<T> (spec: Spec<T>, value: unknown): T {
  const result = spec.safeParse(value)
  if (result.success) return result.data
  throw ConfigError.fromIssues(configIssues(result.error.issues))
}

/** A problem message from the value at fault; an absent value is `required` everywhere. */
type Problem = (input: unknown) => string

/** zod's `error` parameter for a check, giving `problem`'s message (for specs built on zod directly). */
export function says (problem: Problem): { error: (issue: { readonly input?: unknown, readonly code?: string }) => string } {
  return { error: (issue) => issue.input === undefined ? 'required' : problem(issue.input) }
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
  const got = (value: unknown): string => secret && typeof value === 'string' ? `a string of ${value.length} characters` : show(value)
  let spec = z.string(says((input) => `expected a string, got ${show(input)}`))
  if (nonEmpty) spec = spec.min(1, says(() => 'must not be empty'))
  if (maxLength !== undefined) {
    spec = spec.max(maxLength, says((input) => `must be at most ${maxLength} characters long, got ${(input as string).length}`))
  }
  if (pattern !== undefined) {
    const hint = options.patternHint ?? `a string matching ${String(pattern)}`
    // A /g or /y regex carries state between test() calls; zod's check uses its own copy.
    spec = spec.regex(new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, '')), says((input) => `must be ${hint}, got ${got(input)}`))
  }
  return withDefault(spec, options.default)
}

export interface IntOptions {
  readonly min?: number
  readonly max?: number
  readonly default?: number
}

export function int (options: IntOptions = {}): Spec<number> {
  const { min, max } = options
  const range = min !== undefined && max !== undefined
    ? ` between ${min} and ${max}`
    : min !== undefined ? ` >= ${min}` : max !== undefined ? ` <= ${max}` : ''
  const message = says((input) => `must be an integer${range}, got ${show(input)}`)
  let spec = z.number(message).int(message) // int(): a safe integer
  if (min !== undefined) spec = spec.min(min, message)
  if (max !== undefined) spec = spec.max(max, message)
  return withDefault(spec, options.default)
}

export function bool (options: { readonly default?: boolean } = {}): Spec<boolean> {
  return withDefault(z.boolean(says((input) => `expected true or false, got ${show(input)}`)), options.default)
}

type Literal = string | number | boolean

/** One of a fixed list of values: `oneOf(['strict', 'elastic', 'off'])`. */
export function oneOf<const V extends readonly Literal[]> (values: V, options: { readonly default?: V[number] } = {}): Spec<V[number]> {
  const listed = values.map((v) => JSON.stringify(v)).join(', ')
  const spec = z.literal(values as unknown as Literal[], says((input) => {
    const near = typeof input === 'string' ? suggest(input, values.filter((v): v is string => typeof v === 'string')) : undefined
    const hint = near === undefined ? '' : ` (did you mean ${JSON.stringify(near)}?)`
    return `expected one of ${listed}, got ${show(input)}${hint}`
  }))
  return withDefault(spec as unknown as Spec<V[number]>, options.default)
}

/** `HOST:PORT`, `[IPv6]:PORT` or `name:PORT`, parsed into `{ host, port }`. */
export function hostPort (options: { readonly allowZeroPort?: boolean, readonly default?: string } = {}): Spec<HostPort> {
  const spec = z.string(says((input) => `expected HOST:PORT, got ${show(input)}`)).transform((text, ctx) => {
    try {
      return parseHostPort(text, options)
    } catch (err) {
      if (!(err instanceof AddressError)) throw err
      ctx.issues.push({ code: 'custom', message: `${err.message}, got ${show(text)}`, input: text })
      return z.NEVER
    }
  })
  return withDefault(spec, options.default)
}

/** Exactly `bytes` bytes written as 2×bytes hex digits (either case), as a fresh Uint8Array. */
export function hex (bytes: number, options: { readonly default?: string } = {}): Spec<Uint8Array> {
  const expected = `expected ${bytes} bytes as ${2 * bytes} hex digits`
  const spec = z.string(says((input) => `${expected}, got ${show(input)}`))
    .length(2 * bytes, says((input) => `${expected}, got ${(input as string).length} characters`))
    .regex(/^[0-9a-fA-F]*$/, says(() => `${expected}, got a character that is not a hex digit`))
    .transform((text) => decodeHex(text)!)
  return withDefault(spec, options.default)
}

/** Exactly `bytes` bytes in standard base64 (padding optional), as a fresh Uint8Array. */
export function base64 (bytes: number, options: { readonly default?: string } = {}): Spec<Uint8Array> {
  const expected = `expected ${bytes} bytes in base64`
  const spec = z.string(says((input) => `${expected}, got ${show(input)}`)).transform((text, ctx) => {
    const decoded = decodeBase64(text)
    if (decoded === undefined) {
      ctx.issues.push({ code: 'custom', message: `${expected}, got text that is not canonical base64`, input: '' })
      return z.NEVER
    }
    if (decoded.length !== bytes) {
      const length = decoded.length
      decoded.fill(0)
      ctx.issues.push({ code: 'custom', message: `${expected}, got ${length} bytes`, input: '' })
      return z.NEVER
    }
    return decoded
  })
  return withDefault(spec, options.default)
}

/** Any value, unchecked (for parts another check reads). */
export function anyValue (): Spec<unknown> {
  return z.unknown()
}

// --- containers ---------------------------------------------------------------------

export interface ArrOptions {
  readonly minLength?: number
  readonly maxLength?: number
  readonly default?: readonly unknown[]
}

export function arr<T> (item: Spec<T>, options: ArrOptions = {}): Spec<T[]> {
  const { minLength, maxLength } = options
  let spec = z.array(item, says((input) => `expected an array, got ${show(input)}`))
  if (minLength !== undefined) {
    spec = spec.min(minLength, says((input) => `must have at least ${count(minLength, 'item')}, got ${(input as unknown[]).length}`))
  }
  if (maxLength !== undefined) {
    spec = spec.max(maxLength, says((input) => `must have at most ${count(maxLength, 'item')}, got ${(input as unknown[]).length}`))
  }
  return withDefault(spec, options.default)
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

/** Marks zod's unknown-key message so `configIssues` can give each key its own line. */
const UNKNOWN_KEYS = '\u0000unknown keys:'

export function obj<F extends Fields, const O extends keyof F & string = never> (fields: F, options: ObjOptions<O> = {}): Spec<ObjectOf<F, O>> {
  const optional = new Set<string>(options.optional ?? [])
  const known = Object.keys(fields)
  for (const name of optional) {
    if (!known.includes(name)) throw new TypeError(`optional field "${name}" is not a field`)
    if (withDefaults.has(fields[name]!)) throw new TypeError(`field "${name}" has a default and cannot also be optional`)
  }
  const shape: Record<string, z.ZodType> = {}
  for (const name of known) shape[name] = optional.has(name) ? fields[name]!.optional() : fields[name]!
  const spec = z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') {
        // Each key with its suggestion; configIssues makes one line of each.
        return UNKNOWN_KEYS + JSON.stringify(issue.keys.map((key) => [key, suggest(key, known) ?? null]))
      }
      return issue.input === undefined ? 'required' : `expected an object, got ${show(issue.input)}`
    },
  })
  return withDefault(spec as unknown as Spec<ObjectOf<F, O>>, options.default)
}

/** A spec with one more check on the valid value; `test` returns a problem, or undefined. */
export function refine<T> (spec: Spec<T>, test: (value: T) => string | undefined): Spec<T> {
  const refined = spec.transform((value, ctx) => {
    const problem = test(value)
    if (problem !== undefined) ctx.issues.push({ code: 'custom', message: problem, input: value })
    return value
  })
  if (withDefaults.has(spec)) withDefaults.add(refined)
  return refined
}

/** A spec whose valid value is mapped by `map`, which may `refuse(problem)` it instead. */
export function mapped<T, U> (spec: Spec<T>, map: (value: T, refuse: (problem: string) => never) => U): Spec<U> {
  const out = spec.transform((value, ctx) => {
    try {
      return map(value, refuse)
    } catch (err) {
      if (!(err instanceof Refusal)) throw err
      ctx.issues.push({ code: 'custom', message: err.problem, input: value })
      return z.NEVER
    }
  })
  if (withDefaults.has(spec)) withDefaults.add(out)
  return out
}

class Refusal {
  constructor (readonly problem: string) {}
}

function refuse (problem: string): never {
  throw new Refusal(problem)
}

/** `spec`, which takes the raw `defaultInput` when its field is absent (checked like given ones). */
export function withDefault<T> (spec: Spec<T>, defaultInput: unknown): Spec<T> {
  if (defaultInput === undefined) return spec
  // Checked once here, so a wrong default is a programming error found at start.
  const result = spec.safeParse(defaultInput)
  if (!result.success) throw new TypeError(`invalid default: ${result.error.issues.map((i) => i.message).join('; ')}`)
  const defaulted = spec.prefault(defaultInput as never) as unknown as Spec<T>
  withDefaults.add(defaulted)
  return defaulted
}

/** Specs that fill in a default (which `obj` refuses to also make optional). */
const withDefaults = new WeakSet<object>()

// --- zod's issues as config issues ---------------------------------------------------

/**
 * One issue per field at fault, in the order of the fields (an object's unknown keys before
 * its fields, as a reader scans the file), each naming the field.
 */
export function configIssues (zodIssues: readonly z.core.$ZodIssue[]): ConfigIssue[] {
  const out: ConfigIssue[] = []
  const seen = new Set<string>()
  for (const issue of zodIssues) {
    const path = formatPath(issue.path)
    if (issue.message.startsWith(UNKNOWN_KEYS)) {
      const keys = JSON.parse(issue.message.slice(UNKNOWN_KEYS.length)) as Array<[string, string | null]>
      const unknown = keys.map(([key, near]): ConfigIssue => {
        const at = join(path, key)
        return { path: at, message: `unknown config field ${JSON.stringify(at)}${near === null ? '' : ` (did you mean ${JSON.stringify(near)}?)`}` }
      })
      // Before the first issue inside this object, as the hand-written validator ordered them.
      const first = out.findIndex((other) => path === '' || other.path === path || other.path.startsWith(path + '.') || other.path.startsWith(path + '['))
      out.splice(first < 0 ? out.length : first, 0, ...unknown)
      continue
    }
    if (seen.has(path)) continue // the first problem of a field is the one to fix
    seen.add(path)
    out.push({ path, message: path === '' ? `config: ${issue.message}` : `config field ${JSON.stringify(path)}: ${issue.message}` })
  }
  return out
}

/** `['hops', 1, 'address']` → `hops[1].address`. */
function formatPath (path: readonly PropertyKey[]): string {
  let out = ''
  for (const part of path) out = typeof part === 'number' ? `${out}[${part}]` : join(out, String(part))
  return out
}

function join (path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`
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
