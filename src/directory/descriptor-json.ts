/**
 * Descriptor JSON in and out: parsing text or bytes, lowercase-hex fields, and turning the
 * schema validator's field problems into `DESCRIPTOR_MALFORMED` errors that name the field.
 *
 * Keys in descriptors are lowercase hex only. Hex digits are case-insensitive, so accepting
 * both cases would let a byte of a signed descriptor change without changing what it says;
 * "any changed byte is refused" is simpler to reason about and to test.
 */
import { ConfigError } from '../base/config-error.js'
import { findJsonProblem, lineAndColumn } from '../base/json-syntax.js'
import { mapped, str, validate, type Spec } from '../base/schema.js'
import { DescriptorError, DescriptorErrorCode } from './descriptor-error.js'

/** The most text a descriptor may have: 8 hops of about 1 KB each, with generous room. */
export const MAX_DESCRIPTOR_BYTES = 64 * 1024

/** Parse descriptor text; `DESCRIPTOR_MALFORMED` with line and column if it is not JSON. */
export function parseDescriptorText (text: string): unknown {
  if (text.length > MAX_DESCRIPTOR_BYTES) {
    throw new DescriptorError(DescriptorErrorCode.MALFORMED, `descriptor is larger than ${MAX_DESCRIPTOR_BYTES} bytes`)
  }
  const problem = findJsonProblem(text)
  if (problem !== undefined) {
    const { line, column } = lineAndColumn(text, problem.offset)
    throw new DescriptorError(DescriptorErrorCode.MALFORMED, `descriptor is not valid JSON: line ${line}, column ${column}: ${problem.reason}`)
  }
  return JSON.parse(text)
}

/** Parse descriptor bytes (a file, an HTTP body): UTF-8, then `parseDescriptorText`. */
export function parseDescriptorBytes (bytes: Uint8Array): unknown {
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch (err) {
    throw new DescriptorError(DescriptorErrorCode.MALFORMED, 'descriptor is not UTF-8 text', { cause: err })
  }
  return parseDescriptorText(text)
}

/** Exactly `bytes` bytes as 2×bytes lowercase hex digits, decoded to a fresh Uint8Array. */
export function lowerHex (bytes: number): Spec<Uint8Array> {
  const text = str({ pattern: new RegExp(`^[0-9a-f]{${2 * bytes}}$`), patternHint: `${bytes} bytes as ${2 * bytes} lowercase hex digits`, secret: true })
  return mapped(text, (value): Uint8Array => Uint8Array.from(Buffer.from(value, 'hex')))
}

/** Lowercase hex of public bytes (keys in descriptors are public). */
export function toHex (bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

/**
 * Validate `json` against `spec`; a `DESCRIPTOR_MALFORMED` naming the first field at fault
 * (and listing every problem) otherwise. `prefix` is prepended to field paths (`hops[1]`).
 */
export function validateDescriptor<T> (spec: Spec<T>, json: unknown, what: string, options: { prefix?: string, hop?: number } = {}): T {
  try {
    return validate(spec, json)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    const prefix = options.prefix ?? ''
    const at = (path: string): string => prefix === '' ? path : path === '' ? prefix : `${prefix}.${path}`
    const lines = err.issues.map((issue) => rewordIssue(issue.message, issue.path, at(issue.path)))
    const first = err.issues[0]
    throw new DescriptorError(DescriptorErrorCode.MALFORMED, `${what} is malformed: ${lines.join('; ')}`, {
      ...(first === undefined ? {} : { field: at(first.path) }),
      ...(options.hop === undefined ? {} : { hop: options.hop }),
      cause: err,
    })
  }
}

/** The validator writes for config files ("config field "x": …"); say "field" with the full path. */
function rewordIssue (message: string, path: string, fullPath: string): string {
  const fieldPrefix = path === '' ? 'config: ' : `config field ${JSON.stringify(path)}: `
  if (message.startsWith(fieldPrefix)) {
    const problem = message.slice(fieldPrefix.length)
    return fullPath === '' ? problem : `field ${JSON.stringify(fullPath)}: ${problem}`
  }
  const unknown = 'unknown config field '
  if (message.startsWith(unknown)) return `unknown field ${JSON.stringify(fullPath)}${message.slice(unknown.length + JSON.stringify(path).length)}`
  return message
}
