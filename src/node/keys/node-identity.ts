/**
 * A node's long-term key pairs in memory, and their wiping. Apart from identity.ts (the key
 * files) so that a hop's thread under `mixgate up`, whose keys never touch a file, does not
 * load the config reader and its schema library (issue #17).
 */
import { memzero, type KeyPair } from '../../crypto/index.js'

export interface NodeIdentity {
  /** Ed25519: `secretKey` is libsodium's 64-byte form (seed ‖ public key). */
  readonly identity: KeyPair
  /** X25519 static key of the node's links. */
  readonly link: KeyPair
}

/** Zero both secret keys (at shutdown). */
export function wipeIdentity (identity: NodeIdentity): void {
  memzero(identity.identity.secretKey)
  memzero(identity.link.secretKey)
}
