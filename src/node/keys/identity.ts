/**
 * A node's long-term keys: the Ed25519 identity key that signs everything the node
 * publishes, and the X25519 link key of its Noise links (DESIGN "Keys per node").
 *
 *   DIR/identity.key   the Ed25519 seed, 32 bytes as 64 lowercase hex digits and a newline
 *   DIR/link.key       the X25519 secret key, the same way
 *
 * Both files are mode 0600 in a directory created with mode 0700 (an existing directory is
 * accepted only if no one else can write to it). `keygen` refuses to replace either file
 * unless told to (`force`), because a new identity invalidates every descriptor naming the
 * node; forced replacement overwrites the old files' blocks with zeros. Hex is written from
 * and read into byte arrays directly, so the keys never become JavaScript strings.
 *
 * Onion keys are not here: they change every epoch and come from the ratchet (seed-store.ts).
 */
import { join } from 'node:path'
import { ed25519KeyPair, memzero, randomBytes, x25519KeyPair } from '../../crypto/index.js'
import { readKeyFile } from '../../base/config-file.js'
import { KeysError, KeysErrorCode } from '../../protocol/keys-errors.js'
import { checkPrivateFile, ensurePrivateDir, exists, hexLine, writePrivateFile } from './private-files.js'
import type { NodeIdentity } from './node-identity.js'

export { wipeIdentity, type NodeIdentity } from './node-identity.js'

export const IDENTITY_KEY_FILE = 'identity.key'
export const LINK_KEY_FILE = 'link.key'
const KEY_BYTES = 32

export interface PublicIdentity {
  readonly identityKey: Uint8Array
  readonly linkKey: Uint8Array
}

/**
 * Create `identity.key` and `link.key` in `dir`. Throws `KEYS_EXISTS` (naming the files) if
 * either exists and `force` is not set. Returns the public keys.
 */
export async function keygen (dir: string, options: { force?: boolean } = {}): Promise<PublicIdentity> {
  await ensurePrivateDir(dir)
  const identityPath = join(dir, IDENTITY_KEY_FILE)
  const linkPath = join(dir, LINK_KEY_FILE)
  if (options.force !== true) {
    const present = []
    for (const path of [identityPath, linkPath]) if (await exists(path)) present.push(JSON.stringify(path))
    if (present.length > 0) {
      throw new KeysError(KeysErrorCode.EXISTS, `${present.join(' and ')} already ${present.length === 1 ? 'exists' : 'exist'}; refusing to replace a node's keys (use --force: every descriptor naming this node must then be rebuilt)`)
    }
  }
  const seed = randomBytes(KEY_BYTES)
  const link = x25519KeyPair()
  const identity = ed25519KeyPair(seed)
  try {
    await writeKeyFile(identityPath, seed)
    await writeKeyFile(linkPath, link.secretKey)
    return { identityKey: identity.publicKey, linkKey: link.publicKey }
  } finally {
    memzero(seed)
    memzero(identity.secretKey)
    memzero(link.secretKey)
  }
}

/**
 * Read a node's keys from `dir`. Throws `ConfigError` `CONFIG_KEY_FILE` for a missing or
 * malformed file and `KEYS_BAD_MODE` for one others can read. Wipe with `wipeIdentity`.
 */
export async function loadIdentity (dir: string): Promise<NodeIdentity> {
  const identityPath = join(dir, IDENTITY_KEY_FILE)
  const linkPath = join(dir, LINK_KEY_FILE)
  const seed = await readKeyFile(identityPath, KEY_BYTES)
  let linkSecret: Uint8Array | undefined
  try {
    await checkPrivateFile(identityPath)
    linkSecret = await readKeyFile(linkPath, KEY_BYTES)
    await checkPrivateFile(linkPath)
    return { identity: ed25519KeyPair(seed), link: x25519KeyPair(linkSecret) }
  } finally {
    memzero(seed)
    if (linkSecret !== undefined) memzero(linkSecret)
  }
}

async function writeKeyFile (path: string, key: Uint8Array): Promise<void> {
  const text = hexLine(key)
  try {
    await writePrivateFile(path, text, { wipeOld: true })
  } finally {
    memzero(text)
  }
}
