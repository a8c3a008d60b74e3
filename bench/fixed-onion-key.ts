/**
 * One onion key for the current epoch and nothing else: the bench's single-mix load needs
 * the parent to build CREATEs for a key it chose, which a real source (a random or
 * ratcheted seed) never allows. Bench-only: a node must never run a key past its epoch.
 */
import type { KeyPair } from '../src/crypto/index.js'
import { cascadeEpochAt, cascadeSchedule, type Cascade } from '../src/directory/cascade.js'
import type { OnionKeySource } from '../src/node/keys/onion-key-source.js'

export function fixedOnionKey (keyPair: KeyPair, cascade: Cascade): OnionKeySource {
  const epoch = cascadeEpochAt(cascade)
  const active = [{ epoch, keyPair, restored: { count: 0, tags: new Uint8Array(0) } }]
  return {
    accepted: () => active,
    publicKeys: () => [{ epoch, onionKey: keyPair.publicKey }],
    schedule: cascadeSchedule(cascade),
    graceS: 0,
    discarded: [],
    currentEpoch: () => epoch,
    onChange: () => () => {},
    discard: async () => {},
    update: async () => {},
    close: async () => {},
  }
}
