/**
 * The config validator (zod 4 schemas with mixgate's messages): every builder, the exact
 * messages operators see, defaults, the TypeScript type a spec produces, and its JSON Schema.
 */
import t from 'tap'
import { z } from 'zod'
import {
  arr, base64, bool, ConfigError, hex, hostPort, int, mapped, obj, oneOf, refine, str, validate,
  type Infer,
} from '../../src/base/schema.js'

/** The issue lines of the ConfigError `fn` throws (fails the test if it does not throw one). */
function problems (fn: () => unknown): string[] {
  try {
    fn()
  } catch (err) {
    if (err instanceof ConfigError) return err.message.split('\n')
    throw err
  }
  throw new Error('expected a ConfigError')
}

const node = obj({
  roundMs: int({ min: 1, max: 10000, default: 100 }),
  profile: oneOf(['strict', 'elastic', 'off'], { default: 'strict' }),
  listen: hostPort({ default: '127.0.0.1:1080', allowZeroPort: true }),
  name: str({ nonEmpty: true }),
  successor: obj({ address: hostPort(), linkKey: hex(32) }),
  mixes: arr(obj({ address: hostPort(), linkKey: hex(32) }), { minLength: 1, maxLength: 8 }),
  note: str(),
}, { optional: ['successor', 'note'] })

const key = 'ab'.repeat(32)
const minimal = { name: 'mix1', mixes: [{ address: 'm1:1', linkKey: key }] }

t.test('a valid config comes back typed, with defaults filled in and optional fields absent', async (t) => {
  const config = validate(node, minimal)
  // Type-level checks: these lines would not compile if inference were wrong.
  const round: number = config.roundMs
  const profile: 'strict' | 'elastic' | 'off' = config.profile
  const port: number = config.listen.port
  const linkKey: Uint8Array = config.mixes[0]!.linkKey
  type Expect<T extends true> = T
  type Equal<A, B> = (<V>() => V extends A ? 1 : 2) extends (<V>() => V extends B ? 1 : 2) ? true : false
  type Config = Infer<typeof node>
  const typeChecks: [
    Expect<Equal<Config['successor'], { address: { readonly host: string, readonly port: number }, linkKey: Uint8Array } | undefined>>,
    Expect<Equal<Config['note'], string | undefined>>,
    Expect<Equal<Config['name'], string>>,
    Expect<Equal<Config['profile'], 'strict' | 'elastic' | 'off'>>,
  ] = [true, true, true, true]

  t.same(typeChecks, [true, true, true, true], 'inferred types (checked by the compiler)')
  t.equal(round, 100)
  t.equal(profile, 'strict')
  t.equal(port, 1080)
  t.same(config.listen, { host: '127.0.0.1', port: 1080 })
  t.equal(linkKey.length, 32)
  t.ok(linkKey.every((b) => b === 0xab))
  t.notOk('successor' in config, 'absent optional object is left out')
  t.notOk('note' in config, 'absent optional string is left out')
  t.same(Object.keys(config), ['roundMs', 'profile', 'listen', 'name', 'mixes'])
})

t.test('field paths in messages name nested objects and array items exactly', async (t) => {
  const lines = problems(() => validate(node, {
    ...minimal,
    roundMs: 0,
    successor: { address: 'foo', linkKey: key },
    mixes: [minimal.mixes[0], minimal.mixes[0], { address: 'm3:1' }],
  }))
  t.same(lines, [
    'config field "roundMs": must be an integer between 1 and 10000, got 0',
    'config field "successor.address": expected HOST:PORT, got "foo"',
    'config field "mixes[2].linkKey": required',
  ])
})

t.test('every problem is collected, one line each, and also listed as issues with paths', async (t) => {
  try {
    validate(node, { roundMs: 1.5, profile: 'strickt', name: '', mixes: [] })
    t.fail('should throw')
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    t.equal(err.code, 'CONFIG_INVALID')
    t.equal(err.exitCode, 2)
    t.same(err.issues.map((i) => i.path), ['roundMs', 'profile', 'name', 'mixes'])
    t.same(err.message.split('\n'), [
      'config field "roundMs": must be an integer between 1 and 10000, got 1.5',
      'config field "profile": expected one of "strict", "elastic", "off", got "strickt" (did you mean "strict"?)',
      'config field "name": must not be empty',
      'config field "mixes": must have at least 1 item, got 0',
    ])
  }
})

t.test('unknown keys are refused, with a suggestion only when one key is clearly meant', async (t) => {
  t.same(problems(() => validate(node, { ...minimal, rondMs: 5 })),
    ['unknown config field "rondMs" (did you mean "roundMs"?)'])
  t.same(problems(() => validate(node, { ...minimal, ROUNDMS: 5 })),
    ['unknown config field "ROUNDMS" (did you mean "roundMs"?)'], 'case-only difference')
  t.same(problems(() => validate(node, { ...minimal, colour: 'blue' })), ['unknown config field "colour"'])
  t.same(problems(() => validate(node, { ...minimal, successor: { address: 'a:1', linkKey: key, adress: 'x' } })),
    ['unknown config field "successor.adress" (did you mean "address"?)'])
  t.same(problems(() => validate(node, { ...minimal, __proto__x: 1, 'a\nb': 2 })),
    ['unknown config field "__proto__x"', 'unknown config field "a\\nb"'], 'odd keys are quoted safely')
})

t.test('str: type, nonEmpty, maxLength, pattern with a hint, secret values never echoed', async (t) => {
  const name = obj({
    a: str({ pattern: /^[a-z]+$/, patternHint: 'lowercase letters' }),
    b: str({ pattern: /^x/g }),
    c: str({ maxLength: 3 }),
    d: str({ pattern: /^ok$/, secret: true }),
    e: str({ default: 'dflt' }),
  })
  t.same(validate(name, { a: 'abc', b: 'xy', c: 'abc', d: 'ok' }), { a: 'abc', b: 'xy', c: 'abc', d: 'ok', e: 'dflt' })
  t.same(validate(name, { a: 'abc', b: 'xz', c: '', d: 'ok' }).b, 'xz', 'a /g pattern keeps no state between calls')
  t.same(problems(() => validate(name, { a: 'ABC', b: 5, c: 'abcd', d: 'hunter2' })), [
    'config field "a": must be lowercase letters, got "ABC"',
    'config field "b": expected a string, got 5',
    'config field "c": must be at most 3 characters long, got 4',
    'config field "d": must be a string matching /^ok$/, got a string of 7 characters',
  ])
  const long = 'y'.repeat(100)
  t.same(problems(() => validate(obj({ a: str({ pattern: /^x/ }) }), { a: long })),
    [`config field "a": must be a string matching /^x/, got "${'y'.repeat(40)}"…`], 'long values are cut short')
})

t.test('int: bounds, non-integers and non-numbers, one-sided ranges', async (t) => {
  const spec = obj({ a: int({ min: 1 }), b: int({ max: 5 }), c: int(), d: int({ min: 0, max: 9 }) })
  t.same(validate(spec, { a: 1, b: -3, c: 2 ** 40, d: 9 }), { a: 1, b: -3, c: 2 ** 40, d: 9 })
  t.same(problems(() => validate(spec, { a: 0, b: 6, c: 2 ** 60, d: '3' })), [
    'config field "a": must be an integer >= 1, got 0',
    'config field "b": must be an integer <= 5, got 6',
    `config field "c": must be an integer, got ${2 ** 60}`,
    'config field "d": must be an integer between 0 and 9, got "3"',
  ])
})

t.test('bool and oneOf: exact values only, null is a wrong type and not "absent"', async (t) => {
  const spec = obj({ on: bool({ default: false }), level: oneOf(['info', 'debug', 1, true]) })
  t.same(validate(spec, { level: 1 }), { on: false, level: 1 })
  t.same(validate(spec, { level: true, on: true }), { on: true, level: true })
  t.same(problems(() => validate(spec, { on: 'yes', level: null })), [
    'config field "on": expected true or false, got "yes"',
    'config field "level": expected one of "info", "debug", 1, true, got null',
  ])
})

t.test('arr: item checks with indexed paths, length bounds, not an array', async (t) => {
  const spec = obj({ ports: arr(int({ min: 1, max: 65535 }), { maxLength: 2 }), tags: arr(str(), { default: [] }) })
  t.same(validate(spec, { ports: [1, 2] }), { ports: [1, 2], tags: [] })
  t.same(problems(() => validate(spec, { ports: [1, 2, 3], tags: {} })), [
    'config field "ports": must have at most 2 items, got 3',
    'config field "tags": expected an array, got an object',
  ])
  t.same(problems(() => validate(spec, { ports: [0, 'x'] })), [
    'config field "ports[0]": must be an integer between 1 and 65535, got 0',
    'config field "ports[1]": must be an integer between 1 and 65535, got "x"',
  ])
})

t.test('obj: default {} fills a missing block with its fields\' defaults; not an object is refused', async (t) => {
  const spec = obj({ metrics: obj({ listen: hostPort({ default: '127.0.0.1:9100' }), enabled: bool({ default: true }) }, { default: {} }) })
  t.same(validate(spec, {}), { metrics: { listen: { host: '127.0.0.1', port: 9100 }, enabled: true } })
  t.same(validate(spec, { metrics: { enabled: false } }).metrics.enabled, false)
  t.same(problems(() => validate(spec, { metrics: [] })), ['config field "metrics": expected an object, got an array'])
  t.same(problems(() => validate(spec, 'x')), ['config: expected an object, got "x"'], 'the root value')
})

t.test('defaults are fresh on every validation and wrong defaults are caught when the spec is built', async (t) => {
  const spec = obj({ k: hex(2, { default: '0a0b' }), list: arr(int(), { default: [1] }) })
  const first = validate(spec, {})
  first.k.fill(0)
  first.list.push(2)
  const second = validate(spec, {})
  t.same(Array.from(second.k), [10, 11])
  t.same(second.list, [1])
  t.throws(() => int({ min: 1, max: 5, default: 9 }), TypeError)
  t.throws(() => hostPort({ default: 'nope' }), TypeError)
  t.throws(() => obj({ a: int({ default: 1 }) }, { optional: ['a'] }), TypeError, 'default and optional at once')
  // @ts-expect-error: not a field of the object (the type system refuses it too)
  t.throws(() => obj({ a: int() }, { optional: ['b'] }), TypeError)
})

t.test('hostPort: v4, bracketed v6 and names; specific reasons, value quoted', async (t) => {
  const spec = obj({ a: hostPort(), b: hostPort(), c: hostPort() })
  t.same(validate(spec, { a: '10.0.0.1:80', b: '[::1]:443', c: 'mix.example:9000' }),
    { a: { host: '10.0.0.1', port: 80 }, b: { host: '::1', port: 443 }, c: { host: 'mix.example', port: 9000 } })
  t.same(problems(() => validate(spec, { a: '::1:80', b: 'h:0', c: 7 })), [
    'config field "a": an IPv6 address must be written in brackets, as [ADDR]:PORT, got "::1:80"',
    'config field "b": port must be an integer between 1 and 65535, got "h:0"',
    'config field "c": expected HOST:PORT, got 7',
  ])
})

t.test('hex: exactly N bytes in either case; messages never quote the text', async (t) => {
  const spec = obj({ k: hex(4) })
  t.same(Array.from(validate(spec, { k: '00fFa09B' }).k), [0x00, 0xff, 0xa0, 0x9b])
  const secret = 'deadbeefcafe'
  const lines = problems(() => validate(spec, { k: secret }))
  t.same(lines, ['config field "k": expected 4 bytes as 8 hex digits, got 12 characters'])
  t.same(problems(() => validate(spec, { k: 'deadbeeg' })),
    ['config field "k": expected 4 bytes as 8 hex digits, got a character that is not a hex digit'])
  t.same(problems(() => validate(spec, { k: 12 })), ['config field "k": expected 4 bytes as 8 hex digits, got 12'])
  t.notMatch(lines.join(), /dead/)
})

t.test('base64: exactly N bytes, canonical standard base64 only, never quoted', async (t) => {
  const spec = obj({ k: base64(4) })
  const bytes = [0xde, 0xad, 0xbe, 0xef]
  t.same(Array.from(validate(spec, { k: '3q2+7w==' }).k), bytes)
  t.same(Array.from(validate(spec, { k: '3q2+7w' }).k), bytes, 'padding may be left out')
  t.same(problems(() => validate(spec, { k: '3q2+7w8=' })), ['config field "k": expected 4 bytes in base64, got 5 bytes'])
  t.same(problems(() => validate(spec, { k: '3q2-7w==' })),
    ['config field "k": expected 4 bytes in base64, got text that is not canonical base64'], 'URL alphabet')
  t.same(problems(() => validate(spec, { k: '3q2+7x==' })),
    ['config field "k": expected 4 bytes in base64, got text that is not canonical base64'], 'stray low bits')
  t.same(problems(() => validate(spec, { k: '3q2+7w=' })),
    ['config field "k": expected 4 bytes in base64, got text that is not canonical base64'], 'partial padding')
  t.same(problems(() => validate(spec, { k: false })), ['config field "k": expected 4 bytes in base64, got false'])
})

t.test('refine adds a check on the valid value, at the same path', async (t) => {
  const window = refine(obj({ from: int(), until: int() }), (w) => w.from < w.until ? undefined : '"from" must be before "until"')
  const spec = obj({ valid: window })
  t.same(validate(spec, { valid: { from: 1, until: 2 } }), { valid: { from: 1, until: 2 } })
  t.same(problems(() => validate(spec, { valid: { from: 3, until: 2 } })), ['config field "valid": "from" must be before "until"'])
  t.same(problems(() => validate(spec, { valid: { from: 'x', until: 2 } })), ['config field "valid.from": must be an integer, got "x"'],
    'the refinement does not run on an invalid value')
})

t.test('mapped turns a valid value into another or refuses it at the same path', async (t) => {
  const even = mapped(int(), (n, refuse) => n % 2 === 0 ? n / 2 : refuse(`must be even, got ${n}`))
  const spec = obj({ half: even })
  t.same(validate(spec, { half: 8 }), { half: 4 })
  t.same(problems(() => validate(spec, { half: 7 })), ['config field "half": must be even, got 7'])
  t.same(problems(() => validate(spec, {})), ['config field "half": required'])
})

t.test('a spec is a zod schema: its JSON Schema has the fields, bounds, defaults and no other field', async (t) => {
  const schema = z.toJSONSchema(node, { io: 'input' }) as Record<string, any>
  t.same(Object.keys(schema.properties), ['roundMs', 'profile', 'listen', 'name', 'successor', 'mixes', 'note'])
  t.same(schema.required, ['name', 'mixes'])
  t.equal(schema.additionalProperties, false)
  t.match(schema.properties.roundMs, { type: 'integer', minimum: 1, maximum: 10000, default: 100 })
  t.match(schema.properties.profile, { enum: ['strict', 'elastic', 'off'], default: 'strict' })
  t.match(schema.properties.mixes, { type: 'array', minItems: 1, maxItems: 8 })
  t.match(schema.properties.mixes.items.properties.linkKey, { type: 'string', minLength: 64, maxLength: 64 })
})
