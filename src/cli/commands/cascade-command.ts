/**
 * `mixgate cascade create --node FILE... --out FILE` and `mixgate cascade verify FILE
 * [--pin HEX]...`: assemble a signed cascade descriptor from the hops' node descriptors (in
 * hop order: the mixes from the entry on, the exit last), and check one completely.
 *
 * `create` runs every check a client runs, so it never writes a cascade clients would
 * refuse, and it never overwrites a file. `verify` prints the summary; with `--pin`, the
 * identity keys must match: as many pins as hops pin them in hop order, fewer must each be
 * one of the hops' identity keys. A refusal prints the reason and exits 2.
 */
import { equal } from '../../crypto/index.js'
import { DescriptorError, DescriptorErrorCode } from '../../directory/descriptor-error.js'
import { parseDescriptorBytes, toHex } from '../../directory/descriptor-json.js'
import { createCascadeDescriptor, verifyCascadeDescriptor } from '../../directory/signed-cascade.js'
import { parseCommandArgs, stringList, stringOption } from '../args.js'
import { readInput, writeOutput } from '../output-file.js'
import { UsageError } from '../../base/usage-error.js'
import type { CommandContext } from './context.js'

export async function cascadeCommand (argv: readonly string[], context: CommandContext): Promise<number> {
  const [action, ...rest] = argv
  switch (action) {
    case 'create': return await createCommand(rest, context)
    case 'verify': return await verifyCommand(rest, context)
    case undefined:
      throw new UsageError('mixgate cascade: say what to do: create or verify', 'cascade')
    case '--help':
    case '-h':
      return context.showHelp('cascade')
    default:
      throw new UsageError(`mixgate cascade: unknown action ${JSON.stringify(action)} (expected create or verify)`, 'cascade')
  }
}

async function createCommand (argv: readonly string[], context: CommandContext): Promise<number> {
  const args = parseCommandArgs('cascade create', argv, { node: { type: 'string', multiple: true, short: 'n' }, out: { type: 'string', short: 'o' } })
  if (args.help) return context.showHelp('cascade')
  const files = stringList(args, 'node')
  const out = stringOption(args, 'out')
  if (files.length === 0) throw new UsageError('mixgate cascade create: give each hop\'s node descriptor with --node FILE, the entry first and the exit last', 'cascade')
  if (out === undefined) throw new UsageError('mixgate cascade create: --out FILE is required', 'cascade')
  const nodes = []
  for (const file of files) nodes.push(parse(file, await readInput('cascade create', file)))
  let descriptor
  try {
    descriptor = createCascadeDescriptor(nodes)
  } catch (err) {
    if (err instanceof DescriptorError && err.hop !== undefined) {
      throw new DescriptorError(err.code, `${JSON.stringify(files[err.hop - 1])} (--node ${err.hop}): ${err.message}`, { ...fieldOf(err), hop: err.hop, cause: err })
    }
    throw err
  }
  await writeOutput('cascade create', out, JSON.stringify(descriptor, null, 2) + '\n', { exclusive: true })
  context.out(verifyCascadeDescriptor(descriptor).summary + '\n')
  return 0
}

async function verifyCommand (argv: readonly string[], context: CommandContext): Promise<number> {
  const args = parseCommandArgs('cascade verify', argv, { pin: { type: 'string', multiple: true } }, 1)
  if (args.help) return context.showHelp('cascade')
  const file = args.positionals[0]
  if (file === undefined) throw new UsageError('mixgate cascade verify: name the cascade descriptor file to check', 'cascade')
  const pins = stringList(args, 'pin').map((text) => {
    if (!/^[0-9a-fA-F]{64}$/.test(text)) throw new UsageError(`mixgate cascade verify: --pin must be an identity key as 64 hex digits, got ${text.length} characters`, 'cascade')
    return Uint8Array.from(Buffer.from(text.toLowerCase(), 'hex'))
  })
  const json = parse(file, await readInput('cascade verify', file))
  const hopCount = Array.isArray((json as { hops?: unknown }).hops) ? (json as { hops: unknown[] }).hops.length : -1
  const inOrder = pins.length > 0 && pins.length === hopCount
  let verified
  try {
    verified = verifyCascadeDescriptor(json, inOrder ? { pinnedIdentities: pins } : {})
  } catch (err) {
    if (err instanceof DescriptorError) throw new DescriptorError(err.code, `${JSON.stringify(file)}: ${err.message}`, { ...fieldOf(err), ...(err.hop === undefined ? {} : { hop: err.hop }), cause: err })
    throw err
  }
  if (!inOrder) {
    for (const pin of pins) {
      if (!verified.nodes.some((node) => equal(node.identityKey, pin))) {
        throw new DescriptorError(DescriptorErrorCode.IDENTITY_MISMATCH, `${JSON.stringify(file)}: no hop has the pinned identity key ${toHex(pin).slice(0, 8)}…`, { field: 'hops' })
      }
    }
  }
  context.out(verified.summary + '\n')
  return 0
}

function parse (file: string, bytes: Uint8Array): unknown {
  try {
    return parseDescriptorBytes(bytes)
  } catch (err) {
    if (err instanceof DescriptorError) throw new DescriptorError(err.code, `${JSON.stringify(file)}: ${err.message}`, { cause: err })
    throw err
  }
}

function fieldOf (err: DescriptorError): { field?: string } {
  return err.field === undefined ? {} : { field: err.field }
}
