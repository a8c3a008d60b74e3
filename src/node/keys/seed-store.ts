/**
 * The node's onion-key seed on disk: exactly one file, holding the oldest seed still needed.
 *
 * File `onion-seed` in the node's state directory, 64 bytes, mode 0600:
 *
 *   "mgseed01"(8) ‖ epoch(8, big-endian) ‖ seed(32) ‖ check(16)
 *   check = BLAKE2b-128("mixgate/v1/seed-file" ‖ the 48 bytes before it)
 *
 * From the seed of epoch e the node derives the onion keys of e, e+1, … (ratchet.ts).
 * `advance(e')` ratchets to e', writes the new file (write-new, fsync, rename, fsync dir:
 * private-files.ts), overwrites the old file's blocks with zeros and wipes the old seed in
 * memory. A crash at any point leaves either the old file or the new one, plus perhaps a
 * `onion-seed.tmp` that the next `open` wipes and removes; the older seed is never lost
 * before the newer one is durable, and it can always recompute the newer one.
 *
 * Keys handed out (`secretKey`, `keyPair`) are fresh copies that the caller wipes.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { blake2b, equal, memzero, randomBytes, type KeyPair } from '../../crypto/index.js'
import { KeysError, KeysErrorCode } from '../../protocol/keys-errors.js'
import { checkPrivateFile, ensurePrivateDir, exists, removeLeftover, TMP_SUFFIX, writePrivateFile } from './private-files.js'
import { onionKeyPair, onionSecretKey, ratchetSeed, SEED_BYTES } from './ratchet.js'

export const SEED_FILE = 'onion-seed'
const MAGIC = new TextEncoder().encode('mgseed01')
const CHECK_LABEL = new TextEncoder().encode('mixgate/v1/seed-file')
const CHECK_BYTES = 16
const FILE_BYTES = MAGIC.length + 8 + SEED_BYTES + CHECK_BYTES

export class SeedStore {
  readonly dir: string
  readonly path: string
  private seed: Uint8Array
  private seedEpoch: number
  private closed = false
  /** Serialises advances, so two timers firing together cannot interleave file writes. */
  private queue: Promise<void> = Promise.resolve()

  private constructor (dir: string, epoch: number, seed: Uint8Array) {
    this.dir = dir
    this.path = join(dir, SEED_FILE)
    this.seedEpoch = epoch
    this.seed = seed
  }

  /**
   * The store in `dir`, or `undefined` if it holds no seed yet. A leftover `onion-seed.tmp`
   * from an interrupted write is wiped and removed. Throws `KEYS_CORRUPT` for a seed file
   * that does not verify and `KEYS_BAD_MODE` for one others can read.
   */
  static async open (dir: string): Promise<SeedStore | undefined> {
    await ensurePrivateDir(dir)
    const path = join(dir, SEED_FILE)
    await removeLeftover(path + TMP_SUFFIX)
    if (!(await exists(path))) return undefined
    await checkPrivateFile(path)
    const bytes = await readFile(path) // a Buffer of its own (not pooled), wiped below
    try {
      const { epoch, seed } = decodeSeedFile(bytes, path)
      return new SeedStore(dir, epoch, seed)
    } finally {
      memzero(bytes)
    }
  }

  /** A new store whose oldest seed is that of `epoch` (random unless given). Refuses to replace one. */
  static async create (dir: string, epoch: number, seed?: Uint8Array): Promise<SeedStore> {
    checkEpoch(epoch)
    await ensurePrivateDir(dir)
    const path = join(dir, SEED_FILE)
    await removeLeftover(path + TMP_SUFFIX)
    if (await exists(path)) throw new KeysError(KeysErrorCode.EXISTS, `${JSON.stringify(path)} already exists; refusing to replace a seed`)
    if (seed !== undefined && seed.length !== SEED_BYTES) throw new KeysError(KeysErrorCode.CORRUPT, `an onion-key seed must be ${SEED_BYTES} bytes`)
    const store = new SeedStore(dir, epoch, seed === undefined ? randomBytes(SEED_BYTES) : Uint8Array.from(seed))
    await store.persist(false)
    return store
  }

  /** The store in `dir`, created with a fresh seed for `epoch` if there is none. */
  static async openOrCreate (dir: string, epoch: number): Promise<{ store: SeedStore, created: boolean }> {
    const store = await SeedStore.open(dir)
    if (store !== undefined) return { store, created: false }
    return { store: await SeedStore.create(dir, epoch), created: true }
  }

  /** The oldest epoch whose key this store can still derive. */
  get epoch (): number {
    return this.seedEpoch
  }

  /** X25519 secret key of `epoch` (≥ `this.epoch`). A fresh array: the caller wipes it. */
  secretKey (epoch: number): Uint8Array {
    const seed = this.seedOf(epoch)
    try {
      return onionSecretKey(seed)
    } finally {
      memzero(seed)
    }
  }

  /** The onion key pair of `epoch`; the caller wipes `secretKey`. */
  keyPair (epoch: number): KeyPair {
    const seed = this.seedOf(epoch)
    try {
      return onionKeyPair(seed)
    } finally {
      memzero(seed)
    }
  }

  /** The public onion key of `epoch` (what a descriptor publishes). */
  publicKey (epoch: number): Uint8Array {
    const pair = this.keyPair(epoch)
    memzero(pair.secretKey)
    return pair.publicKey
  }

  /**
   * Move the stored seed forward to `toEpoch`, erasing every earlier key: the new seed is
   * made durable first, then the old file's blocks are zeroed and the old seed wiped in
   * memory. Moving to `this.epoch` or earlier does nothing (the ratchet only goes forward).
   */
  advance (toEpoch: number): Promise<void> {
    const run = this.queue.then(async () => {
      this.assertOpen()
      checkEpoch(toEpoch)
      if (toEpoch <= this.seedEpoch) return
      const next = ratchetSeed(this.seed, toEpoch - this.seedEpoch)
      const old = this.seed
      const oldEpoch = this.seedEpoch
      this.seed = next
      this.seedEpoch = toEpoch
      try {
        await this.persist(true)
      } catch (err) {
        // The file still holds the old seed; keep memory in step with it.
        memzero(next)
        this.seed = old
        this.seedEpoch = oldEpoch
        throw err
      }
      memzero(old)
    })
    this.queue = run.catch(() => {})
    return run
  }

  /** Wipe the seed from memory. The file stays: it is the node's key for the next start. */
  close (): void {
    memzero(this.seed)
    this.closed = true
  }

  private seedOf (epoch: number): Uint8Array {
    this.assertOpen()
    checkEpoch(epoch)
    if (epoch < this.seedEpoch) {
      throw new KeysError(KeysErrorCode.EPOCH_ERASED, `the onion key of epoch ${epoch} was erased (the ratchet is at epoch ${this.seedEpoch})`)
    }
    return ratchetSeed(this.seed, epoch - this.seedEpoch)
  }

  private async persist (wipeOld: boolean): Promise<void> {
    const bytes = encodeSeedFile(this.seedEpoch, this.seed)
    try {
      await writePrivateFile(this.path, bytes, { wipeOld })
    } finally {
      memzero(bytes)
    }
  }

  private assertOpen (): void {
    if (this.closed) throw new KeysError(KeysErrorCode.CLOSED, 'the seed store is closed')
  }
}

function encodeSeedFile (epoch: number, seed: Uint8Array): Uint8Array {
  const out = new Uint8Array(FILE_BYTES)
  out.set(MAGIC, 0)
  new DataView(out.buffer).setBigUint64(MAGIC.length, BigInt(epoch), false)
  out.set(seed, MAGIC.length + 8)
  out.set(checkOf(out.subarray(0, FILE_BYTES - CHECK_BYTES)), FILE_BYTES - CHECK_BYTES)
  return out
}

function decodeSeedFile (bytes: Uint8Array, path: string): { epoch: number, seed: Uint8Array } {
  const corrupt = (why: string): KeysError => new KeysError(KeysErrorCode.CORRUPT, `seed file ${JSON.stringify(path)} ${why}; restore it from backup or remove it to start a new key history`)
  if (bytes.length !== FILE_BYTES) throw corrupt(`has ${bytes.length} bytes, expected ${FILE_BYTES}`)
  if (!equal(bytes.subarray(0, MAGIC.length), MAGIC)) throw corrupt('is not a mixgate seed file')
  const body = bytes.subarray(0, FILE_BYTES - CHECK_BYTES)
  const check = checkOf(body)
  const ok = equal(check, bytes.subarray(FILE_BYTES - CHECK_BYTES))
  memzero(check)
  if (!ok) throw corrupt('fails its checksum')
  const epoch = new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(MAGIC.length, false)
  if (epoch > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt('names an impossible epoch')
  return { epoch: Number(epoch), seed: Uint8Array.from(bytes.subarray(MAGIC.length + 8, MAGIC.length + 8 + SEED_BYTES)) } // a copy: Buffer#slice would be a view of what gets wiped
}

function checkOf (body: Uint8Array): Uint8Array {
  const message = new Uint8Array(CHECK_LABEL.length + body.length)
  message.set(CHECK_LABEL, 0)
  message.set(body, CHECK_LABEL.length)
  const check = blake2b(CHECK_BYTES, message)
  memzero(message)
  return check
}

function checkEpoch (epoch: number): void {
  if (!Number.isSafeInteger(epoch) || epoch < 0) {
    throw new KeysError(KeysErrorCode.BAD_EPOCH, `an epoch number must be a non-negative integer, got ${epoch}`)
  }
}
