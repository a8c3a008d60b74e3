/**
 * Reading a node's JSON config file and its key files, with errors an operator can act on.
 *
 * Every failure is a `ConfigError` that names the file: unreadable (with the OS reason, e.g.
 * `no such file or directory (ENOENT)`), not JSON (with line and column), or not fitting the
 * schema (every problem listed, each naming its field). Messages never quote file content,
 * since configs and key files may hold keys.
 *
 * Key files hold exactly N raw bytes, or the same bytes as 2N hex digits (surrounding
 * whitespace allowed). Hex is decoded straight from the file's bytes, so the key never
 * becomes a JavaScript string (strings cannot be wiped); the read buffer is zeroed after.
 * A config file, by contrast, is parsed as a string: keys written inside it (the `hex()`
 * and `base64()` fields) live as strings until garbage-collected — prefer key files.
 */
import { open } from 'node:fs/promises'
import { ConfigError } from './config-error.js'
import { findJsonProblem, lineAndColumn } from './json-syntax.js'
import { nibble, validate, type Spec } from './schema.js'
import { memzero } from '../crypto/index.js'

/** Config files are a few kilobytes; a huge one is a mistake (a log, a disk image). */
export const MAX_CONFIG_BYTES = 1024 * 1024
const MAX_KEY_FILE_BYTES = 4096

/** Read, parse and validate a JSON config file against `spec`. */
export async function loadConfigFile<T> (path: string, spec: Spec<T>): Promise<T> {
  const bytes = await readSmallFile(path, MAX_CONFIG_BYTES, 'config file', 'CONFIG_UNREADABLE')
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch (err) {
    throw new ConfigError('CONFIG_SYNTAX', `config file ${JSON.stringify(path)} is not valid UTF-8 text`, { file: path, cause: err })
  } finally {
    memzero(bytes)
  }
  return parseConfigText(text, path, spec)
}

/** Parse and validate config text; `path` is only used to name the file in messages. */
export function parseConfigText<T> (text: string, path: string, spec: Spec<T>): T {
  if (text.startsWith('\uFEFF')) text = text.slice(1) // a byte-order mark some editors add
  const problem = findJsonProblem(text)
  if (problem !== undefined) {
    const { line, column } = lineAndColumn(text, problem.offset)
    throw new ConfigError('CONFIG_SYNTAX',
      `config file ${JSON.stringify(path)} is not valid JSON: line ${line}, column ${column}: ${problem.reason}`,
      { file: path })
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    // The scanner accepted the text, so this should not happen; V8's message is not
    // repeated because it quotes the input.
    throw new ConfigError('CONFIG_SYNTAX', `config file ${JSON.stringify(path)} is not valid JSON`, { file: path, cause: err })
  }
  try {
    return validate(spec, value)
  } catch (err) {
    if (err instanceof ConfigError) throw ConfigError.fromIssues(err.issues, path)
    throw err
  }
}

/**
 * A key of exactly `bytes` bytes from a file holding it raw or as hex text.
 * The caller owns the returned array and should `memzero` it when done.
 */
export async function readKeyFile (path: string, bytes: number): Promise<Uint8Array> {
  const content = await readSmallFile(path, MAX_KEY_FILE_BYTES, 'key file', 'CONFIG_KEY_FILE')
  try {
    const key = decodeKeyFile(content, bytes)
    if (typeof key === 'string') {
      throw new ConfigError('CONFIG_KEY_FILE', `key file ${JSON.stringify(path)} ${key}`, { file: path })
    }
    return key
  } finally {
    memzero(content)
  }
}

/** The key in a key file's bytes, or why there is none (a phrase naming no key bytes). */
function decodeKeyFile (content: Uint8Array, bytes: number): Uint8Array | string {
  const expected = `must hold ${bytes} raw bytes or ${2 * bytes} hex digits`
  if (content.length === bytes) {
    // A random key is almost never all hex digits ((22/256)^N); a file that is, is hex text
    // of the wrong length, and taking its ASCII as key bytes would make a weak key.
    if (content.every((c) => nibble(c) >= 0)) return `${expected}, got ${bytes} hex digits`
    return Uint8Array.from(content)
  }
  let start = 0
  let end = content.length
  while (start < end && isSpace(content[start]!)) start++
  while (end > start && isSpace(content[end - 1]!)) end--
  if (end - start !== 2 * bytes) {
    const looksHex = end > start && content.subarray(start, end).every((c) => nibble(c) >= 0)
    return `${expected}, got ${looksHex ? `${end - start} hex digits` : `${content.length} bytes`}`
  }
  const key = new Uint8Array(bytes)
  for (let i = 0; i < bytes; i++) {
    const high = nibble(content[start + 2 * i]!)
    const low = nibble(content[start + 2 * i + 1]!)
    if (high < 0 || low < 0) {
      memzero(key)
      return `${expected}, got ${2 * bytes} characters that are not all hex digits`
    }
    key[i] = (high << 4) | low
  }
  return key
}

function isSpace (c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d
}

/** A whole regular file of at most `limit` bytes, or a ConfigError naming it and the reason. */
async function readSmallFile (path: string, limit: number, what: string, code: string): Promise<Uint8Array> {
  const failure = (reason: string, cause?: unknown): ConfigError =>
    new ConfigError(code, `cannot read ${what} ${JSON.stringify(path)}: ${reason}`, { file: path, cause })
  let handle
  try {
    handle = await open(path, 'r')
  } catch (err) {
    throw failure(osReason(err), err)
  }
  try {
    const stat = await handle.stat()
    if (stat.isDirectory()) throw failure('it is a directory (EISDIR)')
    if (!stat.isFile()) throw failure('not a regular file')
    if (stat.size > limit) throw failure(`larger than ${limit} bytes`)
    // One byte more than the limit: a file that grew after stat() is still caught.
    const buffer = new Uint8Array(limit + 1)
    let length = 0
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null)
      if (bytesRead === 0) break
      length += bytesRead
      if (length > limit) {
        memzero(buffer)
        throw failure(`larger than ${limit} bytes`)
      }
    }
    const content = buffer.slice(0, length)
    memzero(buffer)
    return content
  } catch (err) {
    if (err instanceof ConfigError) throw err
    throw failure(osReason(err), err)
  } finally {
    await handle.close()
  }
}

/** `no such file or directory (ENOENT)` from a Node system error. */
function osReason (err: unknown): string {
  const { code, message } = err as { code?: unknown, message?: unknown }
  // Node writes `ENOENT: no such file or directory, open '/path'`; keep the middle part.
  const description = typeof message === 'string' ? /^[A-Z0-9_]+: ([^,]+),/.exec(message)?.[1] : undefined
  if (typeof code !== 'string') return description ?? 'unknown error'
  return description === undefined ? code : `${description} (${code})`
}
