/**
 * Finds the first problem in a JSON text, with its position, for config-file messages.
 *
 * Why not read the position out of `JSON.parse`'s SyntaxError: V8's messages change between
 * Node versions, do not always carry a position, and since Node 20 quote a piece of the
 * input (`Unexpected token 'x', "…" is not valid JSON`), which in a node's config may be key
 * material. This scanner reports a position and a reason written by us, and also refuses
 * duplicate keys, which `JSON.parse` silently resolves to the last one.
 */

export interface JsonProblem {
  /** Offset of the problem in the text (UTF-16 code units). */
  readonly offset: number
  readonly reason: string
}

const MAX_DEPTH = 64

/** The first syntax problem or duplicate key in `text`, or undefined if it is clean JSON. */
export function findJsonProblem (text: string): JsonProblem | undefined {
  try {
    const scanner = new Scanner(text)
    scanner.skipSpace()
    scanner.value(0)
    scanner.skipSpace()
    if (scanner.pos < text.length) scanner.fail('unexpected text after the end of the JSON value')
    return undefined
  } catch (err) {
    if (err instanceof ProblemFound) return err.problem
    throw err
  }
}

/** 1-based line and column (in characters) of `offset` in `text`. */
export function lineAndColumn (text: string, offset: number): { line: number, column: number } {
  const before = text.slice(0, offset)
  const lineStart = before.lastIndexOf('\n') + 1
  let line = 1
  for (let i = before.indexOf('\n'); i >= 0; i = before.indexOf('\n', i + 1)) line++
  return { line, column: Array.from(before.slice(lineStart)).length + 1 }
}

class ProblemFound extends Error {
  constructor (readonly problem: JsonProblem) {
    super(problem.reason)
  }
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y
const STRING_BODY = /(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*/y

class Scanner {
  pos = 0

  constructor (private readonly text: string) {}

  fail (reason: string, at = this.pos): never {
    throw new ProblemFound({ offset: at, reason })
  }

  skipSpace (): void {
    while (this.pos < this.text.length) {
      const c = this.text[this.pos]
      if (c !== ' ' && c !== '\t' && c !== '\n' && c !== '\r') return
      this.pos++
    }
  }

  value (depth: number): void {
    if (depth > MAX_DEPTH) this.fail(`nested more than ${MAX_DEPTH} levels deep`)
    const c = this.text[this.pos]
    if (c === '{') return this.object(depth)
    if (c === '[') return this.array(depth)
    if (c === '"') return void this.string()
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number()
    for (const word of ['true', 'false', 'null']) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length
        return
      }
    }
    this.unexpected('a value')
  }

  object (depth: number): void {
    const keys = new Set<string>()
    this.pos++ // {
    this.skipSpace()
    if (this.text[this.pos] === '}') {
      this.pos++
      return
    }
    for (;;) {
      if (this.text[this.pos] !== '"') this.unexpected('a key in double quotes')
      const keyAt = this.pos
      const key = this.string()
      if (keys.has(key)) this.fail(`duplicate key ${JSON.stringify(key.slice(0, 40))}`, keyAt)
      keys.add(key)
      this.skipSpace()
      if (this.text[this.pos] !== ':') this.unexpected('":"')
      this.pos++
      this.skipSpace()
      this.value(depth + 1)
      this.skipSpace()
      if (this.text[this.pos] === '}') {
        this.pos++
        return
      }
      if (this.text[this.pos] !== ',') this.unexpected('"," or "}"')
      this.pos++
      this.skipSpace()
      if (this.text[this.pos] === '}') this.fail('trailing comma before "}"')
    }
  }

  array (depth: number): void {
    this.pos++ // [
    this.skipSpace()
    if (this.text[this.pos] === ']') {
      this.pos++
      return
    }
    for (;;) {
      this.value(depth + 1)
      this.skipSpace()
      if (this.text[this.pos] === ']') {
        this.pos++
        return
      }
      if (this.text[this.pos] !== ',') this.unexpected('"," or "]"')
      this.pos++
      this.skipSpace()
      if (this.text[this.pos] === ']') this.fail('trailing comma before "]"')
    }
  }

  /** A string literal starting at the opening quote; returns its decoded value. */
  string (): string {
    const start = this.pos
    STRING_BODY.lastIndex = start + 1
    STRING_BODY.exec(this.text)
    const end = STRING_BODY.lastIndex
    const c = this.text[end]
    if (c === undefined) this.fail('unterminated string', start)
    if (c === '\\') this.fail('invalid escape sequence in string', end)
    if (c !== '"') this.fail('control character in string (write it as an escape such as \\n)', end)
    this.pos = end + 1
    return JSON.parse(this.text.slice(start, this.pos)) as string
  }

  number (): void {
    NUMBER.lastIndex = this.pos
    const match = NUMBER.exec(this.text)
    if (match === null) this.fail('invalid number')
    const end = NUMBER.lastIndex
    // `01`, `1.`, `1e`: the regex stopped early, and the leftover digit, dot or `e` is the mistake.
    if (/[0-9.eE+-]/.test(this.text[end] ?? '')) this.fail('invalid number')
    this.pos = end
  }

  private unexpected (wanted: string): never {
    const c = this.text[this.pos]
    if (c === undefined) this.fail(`unexpected end of file, expected ${wanted}`)
    if (c === '/') this.fail('comments are not allowed in JSON')
    if (c === "'") this.fail('strings must use double quotes')
    const shown = /[\u0021-\u007e]/.test(c) ? JSON.stringify(c) : `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`
    this.fail(`unexpected character ${shown}, expected ${wanted}`)
  }
}
