/**
 * The state directory `mixgate up --state-dir DIR` writes: a complete set from which each
 * node can be run on its own (`mixgate exit --config DIR/exit.json`, …).
 *
 *   DIR/                 mode 0700
 *     cascade.json       the cascade file (public keys and addresses)
 *     mix1.json …        one config per node, paths relative to DIR
 *     exit.json
 *     client.json
 *     mix1.link.key …    X25519 secrets as 64 hex digits, mode 0600
 *     exit.onion.key
 *
 * Only a new or empty directory is used: an existing set holds keys, and overwriting keys
 * is not something a convenience command should do silently.
 */
import { chmod, mkdir, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { memzero, type KeyPair } from '../crypto/index.js'
import { cascadeToJson, type Cascade } from '../directory/cascade.js'
import { formatHostPort, type HostPort } from '../node/address.js'
import type { LogSettings } from './node-setup.js'
import { UsageError } from './usage-error.js'

export interface StateSet {
  readonly cascade: Cascade
  /** Key pairs of every hop, in cascade order (the exit last). */
  readonly keys: ReadonlyArray<{ readonly link: KeyPair, readonly onion: KeyPair }>
  readonly exitPolicy: readonly string[]
  readonly socks: HostPort
  readonly log: LogSettings
}

/** Create `dir` (mode 0700), or check that it is empty and make it 0700. */
export async function prepareStateDir (dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const present = await readdir(dir)
  if (present.length > 0) {
    throw new UsageError(`mixgate up: state dir ${JSON.stringify(dir)} is not empty; give a new or empty directory ` +
      `(to run an earlier set, start its nodes: mixgate exit --config ${join(dir, 'exit.json')}, …)`, 'up')
  }
  await chmod(dir, 0o700)
}

/** The names of a node's files in the state dir. */
export function nodeName (position: number, hops: number): string {
  return position === hops ? 'exit' : `mix${position}`
}

/** Write the whole set into `dir` (prepared by `prepareStateDir`). */
export async function writeStateSet (dir: string, set: StateSet): Promise<void> {
  const { cascade } = set
  const hops = cascade.hops.length
  const log = { level: set.log.level, format: set.log.format }
  await writeJson(join(dir, 'cascade.json'), cascadeToJson(cascade), 0o644)
  for (const hop of cascade.hops) {
    const name = nodeName(hop.position, hops)
    const keys = set.keys[hop.position - 1]!
    await writeKey(join(dir, `${name}.link.key`), keys.link.secretKey)
    await writeKey(join(dir, `${name}.onion.key`), keys.onion.secretKey)
    const common = { cascade: 'cascade.json', linkKeyFile: `${name}.link.key`, onionKeyFile: `${name}.onion.key` }
    const config = hop.role === 'exit'
      ? { role: 'exit', ...common, exitPolicy: set.exitPolicy, log }
      : { role: 'mix', ...common, position: hop.position, log }
    await writeJson(join(dir, `${name}.json`), config, 0o600)
  }
  await writeJson(join(dir, 'client.json'), { role: 'client', cascade: 'cascade.json', socks: formatHostPort(set.socks), log }, 0o600)
}

async function writeJson (path: string, value: unknown, mode: number): Promise<void> {
  await writeFile(path, JSON.stringify(value, null, 2) + '\n', { mode, flag: 'wx' })
}

/** A secret as hex text, built byte by byte so the key never becomes a JavaScript string. */
async function writeKey (path: string, secret: Uint8Array): Promise<void> {
  const digits = new TextEncoder().encode('0123456789abcdef')
  const text = new Uint8Array(secret.length * 2 + 1)
  secret.forEach((byte, i) => {
    text[2 * i] = digits[byte >> 4]!
    text[2 * i + 1] = digits[byte & 0x0f]!
  })
  text[text.length - 1] = 0x0a
  try {
    await writeFile(path, text, { mode: 0o600, flag: 'wx' })
  } finally {
    memzero(text)
  }
}
