/**
 * Where a running hop gets its onion keys: the keys it may open CREATEs with right now, kept
 * in step with the epoch clock by a timer (docs/KEYS.md §2, R18).
 *
 * Two sources implement the hop's `OnionKeySource` (src/hop/onion-keys.ts):
 *
 *   - `openDurableOnionKeys`: the node's state directory through `EpochKeyring` — the seed
 *     ratchet on disk and one replay tag log per key, so a graceful restart keeps the keys
 *     and their tags, and a crash discards the keys that were in use (R2, R14).
 *   - `ephemeralOnionKeys`: a random seed in memory and the same ratchet, without files. For
 *     `mixgate up` without a state directory and for test cascades. A restart draws a new
 *     seed, so no CREATE from before it can be replayed after it.
 *
 * The hop asks `accepted()` on every CREATE (at most two keys, current epoch first) and
 * trial-opens with each; it keeps one replay table per key, filled from `restored`, and drops
 * it when the key leaves `accepted()` after an `onChange`. With a durable source, a key
 * carries its `log`: a round's new tags are appended there before their circuits send anything.
 *
 * The timer fires at the next moment the accepted set changes (the end of a grace window,
 * the opening of the next key's window, the boundary itself) and is unref'd: it never keeps
 * the process alive. The source belongs to whoever opened it: stop the hop, then `close()`.
 */
import { memzero, randomBytes, type KeyPair } from '../../crypto/index.js'
import type { Logger } from '../../base/logger.js'
import { EpochClock, type Clock, type EpochSchedule } from '../../protocol/epoch.js'
import type { ActiveOnionKey, OnionKeySource } from '../../hop/onion-keys.js'
import { KeysError, KeysErrorCode } from '../../protocol/keys-errors.js'
import { lockKeyDir, type KeyDirLock } from './dir-lock.js'
import { EpochKeyring } from './keyring.js'
import { ensurePrivateDir } from './private-files.js'
import { onionKeyPair, ratchetSeed, SEED_BYTES } from './ratchet.js'

export type { ActiveOnionKey, OnionKeySource }

export interface OnionKeySourceOptions {
  readonly schedule: EpochSchedule
  /** Grace window in seconds (default: 120 s, or a quarter epoch for short epochs). */
  readonly graceS?: number
  /** Milliseconds since the Unix epoch (tests move time by hand). */
  readonly clock?: Clock
  /** Key changes and failures are logged here (epoch numbers only, never key bytes). */
  readonly logger?: Logger
}

export interface DurableOnionKeyOptions extends OnionKeySourceOptions {
  /** The node's state directory: `onion-seed` and `tags-<epoch>.log`. */
  readonly dir: string
  /** Tags per key: the replay table's capacity. */
  readonly capacity: number
}

const NO_TAGS = { count: 0, tags: new Uint8Array(0) } as const
/** A timer that fires early (Date.now and the timer clock differ a little) re-arms this soon. */
const MIN_TIMER_MS = 10
const MAX_TIMER_MS = 2 ** 31 - 1

/** Open the node's key history in `dir` (created if new) and keep it in step with the clock. */
export async function openDurableOnionKeys (options: DurableOnionKeyOptions): Promise<OnionKeySource> {
  const clock = epochClockOf(options)
  await ensurePrivateDir(options.dir)
  const lock = await lockKeyDir(options.dir)
  let keyring: EpochKeyring
  try {
    keyring = await EpochKeyring.open({ dir: options.dir, clock, capacity: options.capacity })
  } catch (err) {
    await lock.release()
    throw err
  }
  if (keyring.discarded.length > 0) {
    options.logger?.warn('keys.discarded', { epochs: keyring.discarded, reason: 'tag log incomplete (the node did not stop cleanly)' })
  }
  const source = new DurableOnionKeys(clock, keyring, lock, options.capacity, options.logger)
  source.start()
  return source
}

/** Keys from a random in-memory seed: same ratchet and windows, no files, nothing survives a restart. */
export function ephemeralOnionKeys (options: OnionKeySourceOptions): OnionKeySource {
  const source = new EphemeralOnionKeys(epochClockOf(options), options.logger)
  source.start()
  return source
}

function epochClockOf (options: OnionKeySourceOptions): EpochClock {
  return new EpochClock({
    schedule: options.schedule,
    ...(options.graceS === undefined ? {} : { graceS: options.graceS }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  })
}

/** The timer, the listeners and `accepted()`; subclasses say what the open keys are. */
abstract class TimedKeySource implements OnionKeySource {
  readonly schedule: EpochSchedule
  readonly graceS: number
  protected readonly clock: EpochClock
  protected readonly logger: Logger | undefined
  /** Open keys, oldest first. */
  protected open: readonly ActiveOnionKey[] = []
  protected closed = false
  private readonly listeners = new Set<() => void>()
  private timer: NodeJS.Timeout | undefined

  constructor (clock: EpochClock, logger: Logger | undefined) {
    this.clock = clock
    this.schedule = clock.schedule
    this.graceS = clock.graceS
    this.logger = logger
  }

  abstract readonly discarded: readonly number[]
  abstract publicKeys (): Array<{ epoch: number, onionKey: Uint8Array }>
  /** Open and retire keys to match the clock; true if anything changed. */
  protected abstract sync (): Promise<boolean>
  protected abstract retireThrough (epoch: number): Promise<void>
  protected abstract shutdown (): Promise<void>

  accepted (): readonly ActiveOnionKey[] {
    const open = this.open
    const out: ActiveOnionKey[] = []
    let current: number
    try {
      current = this.clock.current()
    } catch {
      return out // before genesis: no key is accepted
    }
    for (const key of open) {
      if (this.clock.acceptance(key.epoch) === 'refused') continue
      if (key.epoch === current) out.unshift(key)
      else out.push(key)
    }
    return out
  }

  currentEpoch (): number {
    return this.clock.current()
  }

  onChange (listener: () => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  async update (): Promise<void> {
    if (this.closed) return
    if (await this.sync()) this.changed()
  }

  async discard (epoch: number): Promise<void> {
    if (this.closed) return
    this.logger?.error('keys.discard', { epoch, reason: 'tag log failed' })
    await this.retireThrough(epoch)
    this.changed()
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    await this.shutdown()
    this.open = []
    this.listeners.clear()
  }

  /** Arm the timer for the next change of the accepted set. */
  start (): void {
    if (this.closed) return
    const ms = Math.min(MAX_TIMER_MS, Math.max(MIN_TIMER_MS, this.clock.msUntilNextChange()))
    this.timer = setTimeout(() => { void this.tick() }, ms)
    this.timer.unref()
  }

  private async tick (): Promise<void> {
    this.timer = undefined
    try {
      await this.update()
    } catch (err) {
      this.logger?.error('keys.update_failed', { code: (err as { code?: string }).code ?? 'ERROR' })
    }
    this.start()
  }

  private changed (): void {
    const epochs = this.open.map((k) => k.epoch)
    this.logger?.info('keys.changed', { epochs })
    for (const listener of [...this.listeners]) {
      try {
        listener()
      } catch (err) {
        this.logger?.error('keys.listener_failed', { code: (err as { code?: string }).code ?? 'ERROR' })
      }
    }
  }
}

class DurableOnionKeys extends TimedKeySource {
  readonly capacity: number
  readonly discarded: readonly number[]
  private readonly keyring: EpochKeyring
  private readonly lock: KeyDirLock

  constructor (clock: EpochClock, keyring: EpochKeyring, lock: KeyDirLock, capacity: number, logger: Logger | undefined) {
    super(clock, logger)
    this.keyring = keyring
    this.lock = lock
    this.capacity = capacity
    this.discarded = keyring.discarded
    this.open = keyring.active()
  }

  publicKeys (): Array<{ epoch: number, onionKey: Uint8Array }> {
    return this.keyring.publicKeys()
  }

  protected async sync (): Promise<boolean> {
    const { added, retired } = await this.keyring.update()
    this.open = this.keyring.active()
    return added.length > 0 || retired.length > 0
  }

  protected async retireThrough (epoch: number): Promise<void> {
    try {
      await this.keyring.discard(epoch)
    } finally {
      this.open = this.keyring.active()
    }
  }

  protected async shutdown (): Promise<void> {
    try {
      await this.keyring.close()
    } finally {
      await this.lock.release()
    }
  }
}

class EphemeralOnionKeys extends TimedKeySource {
  readonly discarded: readonly number[] = []
  /** The seed of `seedEpoch`: the oldest key still derivable. */
  private seed: Uint8Array
  private seedEpoch: number
  private readonly keys = new Map<number, ActiveOnionKey>()

  constructor (clock: EpochClock, logger: Logger | undefined) {
    super(clock, logger)
    this.seedEpoch = clock.oldestNeeded()
    this.seed = randomBytes(SEED_BYTES)
    this.syncNow()
  }

  publicKeys (): Array<{ epoch: number, onionKey: Uint8Array }> {
    this.assertOpen()
    const current = this.clock.current()
    return [current, current + 1].filter((epoch) => epoch >= this.seedEpoch).map((epoch) => {
      const open = this.keys.get(epoch)
      if (open !== undefined) return { epoch, onionKey: Uint8Array.from(open.keyPair.publicKey) }
      const pair = this.keyPairOf(epoch)
      memzero(pair.secretKey)
      return { epoch, onionKey: pair.publicKey }
    })
  }

  protected async sync (): Promise<boolean> {
    return this.syncNow()
  }

  protected async retireThrough (epoch: number): Promise<void> {
    for (const open of [...this.keys.keys()]) if (open <= epoch) this.retire(open)
    this.advance(epoch + 1)
    this.open = this.sorted()
  }

  protected async shutdown (): Promise<void> {
    for (const epoch of [...this.keys.keys()]) this.retire(epoch)
    memzero(this.seed)
  }

  private syncNow (): boolean {
    this.assertOpen()
    const accepted = this.clock.accepted().filter((e) => e >= this.seedEpoch)
    let changed = false
    for (const epoch of [...this.keys.keys()]) {
      if (!accepted.includes(epoch)) { this.retire(epoch); changed = true }
    }
    this.advance(this.clock.oldestNeeded())
    for (const epoch of accepted) {
      if (this.keys.has(epoch) || epoch < this.seedEpoch) continue
      this.keys.set(epoch, { epoch, keyPair: this.keyPairOf(epoch), restored: NO_TAGS })
      changed = true
    }
    this.open = this.sorted()
    return changed
  }

  private keyPairOf (epoch: number): KeyPair {
    if (epoch < this.seedEpoch) throw new KeysError(KeysErrorCode.EPOCH_ERASED, `the onion key of epoch ${epoch} was erased`)
    const seed = ratchetSeed(this.seed, epoch - this.seedEpoch)
    try {
      return onionKeyPair(seed)
    } finally {
      memzero(seed)
    }
  }

  /** Ratchet forward to `epoch`, erasing every earlier key (never backward). */
  private advance (epoch: number): void {
    if (epoch <= this.seedEpoch) return
    const next = ratchetSeed(this.seed, epoch - this.seedEpoch)
    memzero(this.seed)
    this.seed = next
    this.seedEpoch = epoch
  }

  private retire (epoch: number): void {
    const key = this.keys.get(epoch)
    if (key === undefined) return
    this.keys.delete(epoch)
    memzero(key.keyPair.secretKey)
  }

  private sorted (): ActiveOnionKey[] {
    return [...this.keys.values()].sort((a, b) => a.epoch - b.epoch)
  }

  private assertOpen (): void {
    if (this.closed) throw new KeysError(KeysErrorCode.CLOSED, 'the onion key source is closed')
  }
}
