/**
 * A node's onion keys over time: the seed store, one tag log per key, and the epoch clock,
 * kept in step so that the rules of R2, R14 and R18 hold without the node having to know them.
 *
 *   - At start, every key that may have been used is checked: a key whose tag log is not
 *     provably complete is discarded by ratcheting past it (and so are all earlier keys,
 *     the ratchet being one-way). The epochs discarded are reported for the operator's log.
 *   - `update()` (call it at `clock.msUntilNextChange()`) opens the keys that became
 *     accepted (creating their logs before any CREATE can use them), retires the keys that
 *     stopped being accepted, and ratchets the seed to the oldest key still needed.
 *   - `discard(epoch)` retires a key at once (its tag log failed: the round must not leave).
 *   - `close()` closes every log with its clean-shutdown marker and wipes the keys.
 *
 * Order on disk is always "ratchet first, then delete the log": a log is only ever removed
 * once its key can no longer be derived, so "no log" keeps meaning "key never used".
 *
 * The replay tables themselves belong to the hop (src/hop/replay-table.ts): each active key
 * carries the tags restored from its log for the mix to insert before accepting CREATEs.
 */
import { memzero, type KeyPair } from '../../crypto/index.js'
import { type EpochClock } from '../../protocol/epoch.js'
import { KeysError, KeysErrorCode } from '../../protocol/keys-errors.js'
import { SeedStore } from './seed-store.js'
import { TagLogStore, type TagLog } from './tag-log.js'

export interface ActiveKey {
  readonly epoch: number
  /** The onion key pair; the keyring wipes `secretKey` when the key retires. */
  readonly keyPair: KeyPair
  /** Append each round's new tags here before their circuits send anything. */
  readonly log: TagLog
  /** Tags restored from the log at start (16 bytes each, `count` of them). */
  readonly restored: { readonly count: number, readonly tags: Uint8Array }
}

export interface KeyringOptions {
  /** The node's state directory (seed file and tag logs). */
  readonly dir: string
  readonly clock: EpochClock
  /** Tags per key: the replay table's capacity. */
  readonly capacity: number
}

export class EpochKeyring {
  readonly clock: EpochClock
  /** Epochs whose keys were discarded at start because their tag logs were incomplete. */
  readonly discarded: readonly number[]
  private readonly seeds: SeedStore
  private readonly logs: TagLogStore
  private readonly keys = new Map<number, ActiveKey>()
  private queue: Promise<unknown> = Promise.resolve()
  private closed = false

  private constructor (seeds: SeedStore, logs: TagLogStore, clock: EpochClock, discarded: number[]) {
    this.seeds = seeds
    this.logs = logs
    this.clock = clock
    this.discarded = discarded
  }

  /** Open (or start) the node's key history in `dir` and bring it up to the clock. */
  static async open (options: KeyringOptions): Promise<EpochKeyring> {
    const { clock } = options
    const logs = new TagLogStore(options.dir, { capacity: options.capacity })
    const { store, created } = await SeedStore.openOrCreate(options.dir, clock.oldestNeeded())
    try {
      if (created) {
        // Logs left from an earlier seed belong to keys that no longer exist.
        for (const epoch of await logs.epochs()) await logs.remove(epoch)
      }
      await store.advance(clock.oldestNeeded())
      const discarded: number[] = []
      const onDisk = await logs.epochs()
      const last = Math.max(clock.current() + 1, ...onDisk)
      for (let epoch = store.epoch; epoch <= last; epoch++) {
        const found = await logs.load(epoch)
        if (found.state === 'incomplete') {
          await store.advance(epoch + 1) // first the ratchet, then the log (see above)
          discarded.push(epoch)
        }
      }
      for (const epoch of await logs.epochs()) if (epoch < store.epoch) await logs.remove(epoch)
      const keyring = new EpochKeyring(store, logs, clock, discarded)
      await keyring.update()
      return keyring
    } catch (err) {
      store.close()
      throw err
    }
  }

  /** The oldest epoch whose key can still be derived (everything before is erased). */
  get oldestEpoch (): number {
    return this.seeds.epoch
  }

  /** The key of `epoch` if it is accepted now (R18) and was opened; undefined otherwise. */
  key (epoch: number): ActiveKey | undefined {
    const key = this.keys.get(epoch)
    return key !== undefined && this.clock.acceptance(epoch) !== 'refused' ? key : undefined
  }

  /** Open keys, oldest first. */
  active (): ActiveKey[] {
    return [...this.keys.values()].sort((a, b) => a.epoch - b.epoch)
  }

  /** Public onion keys of the current and next epochs that still exist (for the descriptor). */
  publicKeys (): Array<{ epoch: number, onionKey: Uint8Array }> {
    const current = this.clock.current()
    return [current, current + 1].filter((e) => e >= this.seeds.epoch).map((epoch) => ({ epoch, onionKey: this.seeds.publicKey(epoch) }))
  }

  /** Bring the open keys in line with the clock. Returns what changed. */
  update (): Promise<{ added: number[], retired: number[] }> {
    return this.serial(async () => {
      this.assertOpen()
      const accepted = this.clock.accepted().filter((e) => e >= this.seeds.epoch)
      const retired = [...this.keys.keys()].filter((e) => !accepted.includes(e))
      for (const epoch of retired) await this.closeKey(epoch, true)
      await this.seeds.advance(this.clock.oldestNeeded())
      for (const epoch of retired) await this.logs.remove(epoch)
      const added: number[] = []
      for (const epoch of accepted) {
        if (this.keys.has(epoch) || epoch < this.seeds.epoch) continue
        let opened
        try {
          opened = await this.logs.open(epoch)
        } catch (err) {
          if (!(err instanceof KeysError) || err.code !== KeysErrorCode.TAG_LOG_INCOMPLETE) throw err
          await this.seeds.advance(epoch + 1)
          continue
        }
        this.keys.set(epoch, { epoch, keyPair: this.seeds.keyPair(epoch), log: opened.log, restored: { count: opened.count, tags: opened.tags } })
        added.push(epoch)
      }
      return { added, retired }
    })
  }

  /**
   * Retire `epoch`'s key now, and every earlier one: the ratchet moves past it before its log
   * is deleted. For a tag log that failed (the circuits of its tags must not go on).
   */
  discard (epoch: number): Promise<void> {
    return this.serial(async () => {
      this.assertOpen()
      for (const open of [...this.keys.keys()]) if (open <= epoch) await this.closeKey(open, false)
      await this.seeds.advance(epoch + 1)
      for (const old of await this.logs.epochs()) if (old <= epoch) await this.logs.remove(old)
    })
  }

  /** Graceful stop: every log closed with its clean-shutdown marker, every key wiped. */
  close (): Promise<void> {
    return this.serial(async () => {
      if (this.closed) return
      this.closed = true
      for (const epoch of [...this.keys.keys()]) await this.closeKey(epoch, true)
      this.seeds.close()
    })
  }

  private async closeKey (epoch: number, clean: boolean): Promise<void> {
    const key = this.keys.get(epoch)
    if (key === undefined) return
    this.keys.delete(epoch)
    memzero(key.keyPair.secretKey)
    await key.log.close({ clean })
  }

  private serial<T> (task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task)
    this.queue = run.catch(() => {})
    return run
  }

  private assertOpen (): void {
    if (this.closed) throw new KeysError(KeysErrorCode.CLOSED, 'the keyring is closed')
  }
}
