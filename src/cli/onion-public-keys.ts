/**
 * The public onion keys a hop publishes (current and next epoch), read from its key dir for
 * `mixgate descriptor` without running the node.
 *
 * Only the seed file is touched, never the tag logs: opening the full keyring would check
 * the logs and, finding a running node's log without its clean-shutdown marker, discard that
 * node's keys. If the key dir has no seed yet (the node never ran), one is created for the
 * oldest epoch needed now, exactly as the node's first start would; the node then continues
 * that key history, so the descriptor stays true.
 */
import { memzero } from '../crypto/index.js'
import type { EpochKey } from '../directory/descriptor.js'
import { EpochClock, type Clock, type EpochSchedule } from '../node/keys/epoch.js'
import { SeedStore } from '../node/keys/seed-store.js'

export interface OnionPublicKeys {
  readonly keys: EpochKey[]
  /** A seed file was created (first use of this key dir). */
  readonly created: boolean
}

export async function readOnionPublicKeys (dir: string, schedule: EpochSchedule, clock?: Clock): Promise<OnionPublicKeys> {
  const epochs = new EpochClock({ schedule, ...(clock === undefined ? {} : { clock }) })
  let store = await SeedStore.open(dir)
  const created = store === undefined
  store ??= await SeedStore.create(dir, epochs.oldestNeeded())
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
