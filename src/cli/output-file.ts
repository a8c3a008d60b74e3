/**
 * Writing and reading the small public files the CLI handles (descriptors), with OS errors
 * turned into one-line messages that name the file.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { MixgateError } from '../errors.js'
import { UsageError } from '../base/usage-error.js'

export class OutputError extends MixgateError {}

/** Far more than any descriptor (8 hops of about 1 kB each). */
const MAX_INPUT_BYTES = 256 * 1024

/** Write `text` to `path` (mode 0644). With `exclusive`, an existing file is refused (exit 2). */
export async function writeOutput (command: string, path: string, text: string, options: { exclusive?: boolean } = {}): Promise<void> {
  try {
    await writeFile(path, text, { mode: 0o644, flag: options.exclusive === true ? 'wx' : 'w' })
  } catch (err) {
    const code = (err as { code?: unknown }).code
    if (code === 'EEXIST') throw new UsageError(`mixgate ${command}: ${JSON.stringify(path)} already exists; refusing to overwrite it (remove it first)`, command.split(' ')[0])
    throw new OutputError('CLI_WRITE_FAILED', `mixgate ${command}: cannot write ${JSON.stringify(path)} (${String(code)})`, { cause: err })
  }
}

/** The bytes of the input file `path` (exit 2 naming the file if it cannot be read). */
export async function readInput (command: string, path: string): Promise<Uint8Array> {
  let bytes
  try {
    bytes = await readFile(path)
  } catch (err) {
    const code = (err as { code?: unknown }).code
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : String(code)
    throw new UsageError(`mixgate ${command}: cannot read ${JSON.stringify(path)}: ${why}`, command.split(' ')[0])
  }
  if (bytes.length > MAX_INPUT_BYTES) throw new UsageError(`mixgate ${command}: ${JSON.stringify(path)} is larger than ${MAX_INPUT_BYTES} bytes`, command.split(' ')[0])
  return bytes
}
