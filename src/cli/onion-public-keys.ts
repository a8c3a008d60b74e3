/**
 * The public onion keys a hop publishes (current and next epoch), read from its key dir for
 * `mixgate descriptor` without running the node.
 *
 * Only the seed file is touched, never the tag logs: opening the full keyring would check
 * the logs and, finding a running node's log without its clean-shutdown marker, discard that
 * node's keys. If the key dir has no seed yet (the node never ran), one is created for the
 * oldest epoch needed now, exactly as the node's first start would; the node then continues
 * that key history, so the descriptor stays true. Creating takes the key dir's lock
 * (dir-lock.ts), so a node starting at the same moment cannot create a seed of its own
 * beside it; reading needs no lock (the node replaces the seed file atomically).
 */
import { memzero } from '../crypto/index.js'
import type { EpochKey } from '../directory/descriptor.js'
import { lockKeyDir } from '../node/keys/dir-lock.js'
import { EpochClock, type Clock, type EpochSchedule } from '../protocol/epoch.js'
import { SeedStore } from '../node/keys/seed-store.js'

export interface OnionPublicKeys {
  readonly keys: EpochKey[]
  /** A seed file was created (first use of this key dir). */
  readonly created: boolean
}

export async function readOnionPublicKeys (dir: string, schedule: EpochSchedule, clock?: Clock): Promise<OnionPublicKeys> {
  const epochs = new EpochClock({ schedule, ...(clock === undefined ? {} : { clock }) })
  let store = await SeedStore.open(dir)
  let created = false
  if (store === undefined) {
    const lock = await lockKeyDir(dir)
    try {
      store = await SeedStore.open(dir) // a node may have made it before we took the lock
      if (store === undefined) {
        store = await SeedStore.create(dir, epochs.oldestNeeded())
        created = true
      }
    } finally {
      await lock.release()
    }
  }
  try {
    const current = epochs.current()
    const keys = [current, current + 1].filter((epoch) => epoch >= store.epoch).map((epoch) => {
      const pair = store.keyPair(epoch)
      memzero(pair.secretKey)
      return { epoch, onionKey: pair.publicKey }
    })
    return { keys, created }
  } finally {
    store.close()
  }
}
