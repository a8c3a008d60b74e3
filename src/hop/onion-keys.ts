/**
 * What a hop needs from its onion keys (docs/KEYS.md §2, R18): the keys a CREATE may be opened
 * with now, and where each key's replay tags are made durable. The hop owns this interface;
 * the node runtime implements it (src/node/keys/onion-key-source.ts: durable or ephemeral),
 * so the roles never import the runtime. Tests and the bench give fixed sources.
 */
import type { KeyPair } from '../crypto/index.js'
import type { EpochSchedule } from '../protocol/epoch.js'

/** A key's replay tag log, as the hop uses it (src/node/keys/tag-log.ts `TagLog`). */
export interface TagAppender {
  /** Resolves once `tags` are on disk; rejects if they could not be written (R2). */
  append (tags: readonly Uint8Array[]): Promise<void>
}

export interface ActiveOnionKey {
  readonly epoch: number
  /** The key pair; the source wipes `secretKey` when the key retires. */
  readonly keyPair: KeyPair
  /** Durable keys only: append each round's new tags here before their circuits send anything. */
  readonly log?: TagAppender
  /** Tags recorded for this key before this start (16 bytes each, `count` of them). */
  readonly restored: { readonly count: number, readonly tags: Uint8Array }
}

export interface OnionKeySource {
  /** The keys a CREATE may be opened with now (R18): at most two, the current epoch's first. */
  accepted (): readonly ActiveOnionKey[]
  /** Public keys of the current and the next epoch that still exist (for descriptors). */
  publicKeys (): Array<{ epoch: number, onionKey: Uint8Array }>
  readonly schedule: EpochSchedule
  readonly graceS: number
  /** Most tags one key may record (its tag log's capacity): a hop's replay tables are no larger. */
  readonly capacity?: number
  /** Epochs whose keys were discarded at start because their tag logs were incomplete. */
  readonly discarded: readonly number[]
  /** The current epoch (for metrics and logs). */
  currentEpoch (): number
  /** Call `listener` after keys were opened or retired; returns a function that unsubscribes. */
  onChange (listener: () => void): () => void
  /** Retire `epoch`'s key and every earlier one now (its tag log failed: R2). */
  discard (epoch: number): Promise<void>
  /** Bring the keys in line with the clock now (the timer does this on its own). */
  update (): Promise<void>
  /** Stop the timer; close the tag logs cleanly (durable); wipe every key. */
  close (): Promise<void>
}
