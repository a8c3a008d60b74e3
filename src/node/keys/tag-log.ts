/**
 * The replay tag log of one onion key: every CREATE tag the key's replay table accepted,
 * appended durably before anything of the circuit that CREATE opened leaves the hop (R2).
 *
 * Why: a hop that forgets a tag while its key is still accepted would accept a replayed
 * CREATE, re-derive the same layer keys and reuse their keystream. So at start a node reloads
 * each still-accepted key's tags, and a key whose log cannot prove it is complete is
 * discarded (the caller ratchets past it), never used with a partial table.
 *
 * Files, in the node's state directory (mode 0600):
 *
 *   tags-<epoch>.log    "mgtaglg1"(8) ‖ epoch(8)                          header
 *                       then batches: count(4) ‖ count × tag(16) ‖ mac(16)   one per append
 *   tags-<epoch>.clean  "mgtagcl1"(8) ‖ epoch(8) ‖ logBytes(8) ‖ tags(8) ‖ lastMac(16) ‖ check(16)
 *
 *   mac_0 = BLAKE2b-128("mixgate/v1/tag-log" ‖ epoch(8))
 *   mac_k = BLAKE2b-128(key = mac_{k−1}, count(4) ‖ tags)            integers big-endian
 *   check = BLAKE2b-128("mixgate/v1/tag-log-clean" ‖ the 48 bytes before it)
 *
 * The log is "provably complete" only when the clean-shutdown marker (written by a graceful
 * `close()`, after a final fdatasync) verifies and names exactly the log's length, tag count
 * and final chained MAC; every batch's MAC must verify as well. Reopening a complete log for
 * appending withdraws its marker first, so a crash afterwards leaves no marker (and a stale
 * marker would not match the longer log anyway). A log holding more tags than `capacity`
 * (the replay table's size: the table fails closed beyond it) is refused too.
 */
import { open, readFile, readdir, rm, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { blake2b, equal } from '../../crypto/index.js'
import { KeysError, KeysErrorCode } from '../../protocol/keys-errors.js'
import { ensurePrivateDir, exists, PRIVATE_FILE_MODE, removeLeftover, syncDir, TMP_SUFFIX, writePrivateFile } from './private-files.js'

export const TAG_BYTES = 16
const MAC_BYTES = 16
const LOG_MAGIC = new TextEncoder().encode('mgtaglg1')
const MARKER_MAGIC = new TextEncoder().encode('mgtagcl1')
const MAC_LABEL = new TextEncoder().encode('mixgate/v1/tag-log')
const MARKER_LABEL = new TextEncoder().encode('mixgate/v1/tag-log-clean')
const HEADER_BYTES = 16
const BATCH_OVERHEAD = 4 + MAC_BYTES
const MARKER_BYTES = 64
const LOG_NAME = /^tags-(0|[1-9][0-9]{0,15})\.log$/

/** What `load` found for an epoch's key. */
export type TagLogLoad =
  | { readonly state: 'complete', readonly count: number, readonly tags: Uint8Array }
  | { readonly state: 'incomplete', readonly reason: string }
  | { readonly state: 'absent' }

type Inspected =
  | { readonly state: 'complete', readonly count: number, readonly tags: Uint8Array, readonly lastMac: Uint8Array, readonly logBytes: number }
  | { readonly state: 'incomplete', readonly reason: string }
  | { readonly state: 'absent' }

export interface TagLogStoreOptions {
  /** Most tags one key's log may hold: the replay table's capacity. */
  readonly capacity: number
}

/** The tag logs in one state directory. */
export class TagLogStore {
  readonly dir: string
  readonly capacity: number

  constructor (dir: string, options: TagLogStoreOptions) {
    if (!Number.isSafeInteger(options.capacity) || options.capacity < 1) {
      throw new KeysError(KeysErrorCode.BAD_OPTION, 'tag log capacity must be a positive integer')
    }
    this.dir = dir
    this.capacity = options.capacity
  }

  logPath (epoch: number): string {
    return join(this.dir, `tags-${checkEpoch(epoch)}.log`)
  }

  markerPath (epoch: number): string {
    return join(this.dir, `tags-${checkEpoch(epoch)}.clean`)
  }

  /**
   * The tags of `epoch`'s key if its log is provably complete; `incomplete` (with a reason
   * for the operator's log) if a log exists without that proof; `absent` if the key never
   * had a log (it was never used: `open` creates the log before the first CREATE).
   */
  async load (epoch: number): Promise<TagLogLoad> {
    const found = await this.inspect(epoch)
    return found.state === 'complete' ? { state: 'complete', count: found.count, tags: found.tags } : found
  }

  /**
   * Open `epoch`'s log for appending: a new one if there is none (created durably, so the
   * key counts as used from now on), or the complete one on disk with its tags, whose
   * clean-shutdown marker is withdrawn first. Throws `KEYS_TAG_LOG_INCOMPLETE` otherwise:
   * the caller must discard the key.
   */
  async open (epoch: number): Promise<{ log: TagLog, count: number, tags: Uint8Array }> {
    await ensurePrivateDir(this.dir)
    await removeLeftover(this.markerPath(epoch) + TMP_SUFFIX)
    const found = await this.inspect(epoch)
    if (found.state === 'incomplete') {
      throw new KeysError(KeysErrorCode.TAG_LOG_INCOMPLETE, `replay tag log of epoch ${epoch}: ${found.reason}`)
    }
    const logPath = this.logPath(epoch)
    if (found.state === 'absent') {
      const handle = await open(logPath, 'wx', PRIVATE_FILE_MODE)
      try {
        await handle.chmod(PRIVATE_FILE_MODE)
        await handle.write(header(epoch), 0, HEADER_BYTES, 0)
        await handle.sync()
        await syncDir(this.dir)
      } catch (err) {
        await handle.close()
        throw err
      }
      return { log: new TagLog(this, epoch, handle, HEADER_BYTES, 0, initialMac(epoch)), count: 0, tags: new Uint8Array(0) }
    }
    await rm(this.markerPath(epoch), { force: true })
    await syncDir(this.dir)
    const handle = await open(logPath, 'r+')
    return { log: new TagLog(this, epoch, handle, found.logBytes, found.count, found.lastMac), count: found.count, tags: found.tags }
  }

  /** Delete `epoch`'s log and marker (its key expired or was discarded). */
  async remove (epoch: number): Promise<void> {
    await rm(this.logPath(epoch), { force: true })
    await rm(this.markerPath(epoch), { force: true })
    await rm(this.markerPath(epoch) + TMP_SUFFIX, { force: true })
    if (await exists(this.dir)) await syncDir(this.dir)
  }

  /** `load`, plus what appending needs: the log's length and last chained MAC. */
  private async inspect (epoch: number): Promise<Inspected> {
    const logPath = this.logPath(epoch)
    const markerPath = this.markerPath(epoch)
    const hasLog = await exists(logPath)
    const hasMarker = await exists(markerPath)
    if (!hasLog) {
      return hasMarker ? incomplete('the tag log is missing but its clean-shutdown marker is there') : { state: 'absent' }
    }
    if (!hasMarker) return incomplete('the tag log has no clean-shutdown marker (the node did not stop cleanly while this key was in use)')
    const marker = decodeMarker(await readFile(markerPath), epoch)
    if (typeof marker === 'string') return incomplete(`the clean-shutdown marker ${marker}`)
    const log = await readFile(logPath)
    const walked = walkLog(log, epoch, this.capacity)
    if (typeof walked === 'string') return incomplete(`the tag log ${walked}`)
    if (log.length !== marker.logBytes || walked.count !== marker.tags || !equal(walked.lastMac, marker.lastMac)) {
      return incomplete('the tag log does not match its clean-shutdown marker (length, count or checksum)')
    }
    return { state: 'complete', count: walked.count, tags: walked.tags, lastMac: walked.lastMac, logBytes: log.length }
  }

  /** Epochs that have a log file in the directory, in increasing order. */
  async epochs (): Promise<number[]> {
    if (!(await exists(this.dir))) return []
    const names = await readdir(this.dir)
    return names.flatMap((name) => {
      const match = LOG_NAME.exec(name)
      return match === null ? [] : [Number(match[1])]
    }).filter(Number.isSafeInteger).sort((a, b) => a - b)
  }
}

/** One key's open tag log. */
export class TagLog {
  readonly epoch: number
  private readonly store: TagLogStore
  private readonly handle: FileHandle
  private position: number
  private stored: number
  private lastMac: Uint8Array
  private failed = false
  private closed = false
  private queue: Promise<void> = Promise.resolve()

  /** @internal use `TagLogStore.open`. */
  constructor (store: TagLogStore, epoch: number, handle: FileHandle, position: number, count: number, lastMac: Uint8Array) {
    this.store = store
    this.epoch = epoch
    this.handle = handle
    this.position = position
    this.stored = count
    this.lastMac = lastMac
  }

  /** Tags in the log. */
  get count (): number {
    return this.stored
  }

  /**
   * Append one round's tags with a single write and a single fdatasync. Resolve before the
   * circuits they opened send anything on. Throws `KEYS_TAG_LOG_FULL` (nothing written) past
   * the capacity, and `KEYS_TAG_LOG_FAILED` if the disk refused: the log is then unusable,
   * those circuits must be dropped and the key must be retired.
   */
  append (tags: readonly Uint8Array[]): Promise<void> {
    const run = this.queue.then(async () => {
      if (this.closed) throw new KeysError(KeysErrorCode.CLOSED, `tag log of epoch ${this.epoch} is closed`)
      if (this.failed) throw new KeysError(KeysErrorCode.TAG_LOG_FAILED, `tag log of epoch ${this.epoch} failed earlier; retire its key`)
      if (tags.length === 0) return
      if (this.stored + tags.length > this.store.capacity) {
        throw new KeysError(KeysErrorCode.TAG_LOG_FULL, `tag log of epoch ${this.epoch} would exceed its capacity of ${this.store.capacity} tags`)
      }
      const record = new Uint8Array(4 + tags.length * TAG_BYTES + MAC_BYTES)
      new DataView(record.buffer).setUint32(0, tags.length, false)
      tags.forEach((tag, i) => {
        if (tag.length !== TAG_BYTES) throw new KeysError(KeysErrorCode.BAD_OPTION, `a replay tag must be ${TAG_BYTES} bytes`)
        record.set(tag, 4 + i * TAG_BYTES)
      })
      const macEnd = record.length - MAC_BYTES
      const mac = blake2b(MAC_BYTES, record.subarray(0, macEnd), this.lastMac)
      record.set(mac, macEnd)
      try {
        let written = 0
        while (written < record.length) {
          const { bytesWritten } = await this.handle.write(record, written, record.length - written, this.position + written)
          written += bytesWritten
        }
        await this.handle.datasync()
      } catch (err) {
        this.failed = true
        throw new KeysError(KeysErrorCode.TAG_LOG_FAILED, `cannot write the tag log of epoch ${this.epoch}; retire its key`, { cause: err })
      }
      this.position += record.length
      this.stored += tags.length
      this.lastMac = mac
    })
    this.queue = run.catch(() => {})
    return run
  }

  /**
   * Close the log. A graceful stop (`clean`, the default) syncs it and writes the
   * clean-shutdown marker that lets the next start trust it. `clean: false` (or a log that
   * failed) closes without a marker: the next start discards the key.
   */
  async close (options: { clean?: boolean } = {}): Promise<void> {
    await this.queue
    if (this.closed) return
    this.closed = true
    try {
      if (options.clean !== false && !this.failed) {
        await this.handle.datasync()
        await writePrivateFile(this.store.markerPath(this.epoch), encodeMarker(this.epoch, this.position, this.stored, this.lastMac))
      }
    } finally {
      await this.handle.close()
    }
  }
}

function header (epoch: number): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES)
  out.set(LOG_MAGIC, 0)
  new DataView(out.buffer).setBigUint64(8, BigInt(epoch), false)
  return out
}

function initialMac (epoch: number): Uint8Array {
  const message = new Uint8Array(MAC_LABEL.length + 8)
  message.set(MAC_LABEL, 0)
  new DataView(message.buffer).setBigUint64(MAC_LABEL.length, BigInt(epoch), false)
  return blake2b(MAC_BYTES, message)
}

/** Every tag of a log whose header and batch MACs verify, or what is wrong with it. */
function walkLog (log: Uint8Array, epoch: number, capacity: number): { count: number, tags: Uint8Array, lastMac: Uint8Array } | string {
  if (log.length < HEADER_BYTES || !equal(log.subarray(0, HEADER_BYTES), header(epoch))) return 'has a bad header'
  const view = new DataView(log.buffer, log.byteOffset, log.byteLength)
  // First pass: check the framing and MACs and count; second: copy the tags out.
  let mac = initialMac(epoch)
  let offset = HEADER_BYTES
  let count = 0
  while (offset < log.length) {
    if (offset + BATCH_OVERHEAD > log.length) return 'ends in a torn record'
    const n = view.getUint32(offset, false)
    const end = offset + 4 + n * TAG_BYTES
    if (n === 0 || end + MAC_BYTES > log.length) return 'ends in a torn record'
    const expected = blake2b(MAC_BYTES, log.subarray(offset, end), mac)
    if (!equal(expected, log.subarray(end, end + MAC_BYTES))) return 'fails its checksum'
    mac = expected
    count += n
    if (count > capacity) return `holds more than ${capacity} tags (the replay table's capacity)`
    offset = end + MAC_BYTES
  }
  const tags = new Uint8Array(count * TAG_BYTES)
  let filled = 0
  offset = HEADER_BYTES
  while (offset < log.length) {
    const n = view.getUint32(offset, false)
    tags.set(log.subarray(offset + 4, offset + 4 + n * TAG_BYTES), filled)
    filled += n * TAG_BYTES
    offset += BATCH_OVERHEAD + n * TAG_BYTES
  }
  return { count, tags, lastMac: mac }
}

function encodeMarker (epoch: number, logBytes: number, tags: number, lastMac: Uint8Array): Uint8Array {
  const out = new Uint8Array(MARKER_BYTES)
  const view = new DataView(out.buffer)
  out.set(MARKER_MAGIC, 0)
  view.setBigUint64(8, BigInt(epoch), false)
  view.setBigUint64(16, BigInt(logBytes), false)
  view.setBigUint64(24, BigInt(tags), false)
  out.set(lastMac, 32)
  out.set(markerCheck(out.subarray(0, 48)), 48)
  return out
}

function decodeMarker (bytes: Uint8Array, epoch: number): { logBytes: number, tags: number, lastMac: Uint8Array } | string {
  if (bytes.length !== MARKER_BYTES || !equal(bytes.subarray(0, 8), MARKER_MAGIC)) return 'is malformed'
  if (!equal(markerCheck(bytes.subarray(0, 48)), bytes.subarray(48))) return 'fails its checksum'
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (view.getBigUint64(8, false) !== BigInt(epoch)) return 'belongs to another epoch'
  return { logBytes: Number(view.getBigUint64(16, false)), tags: Number(view.getBigUint64(24, false)), lastMac: Uint8Array.from(bytes.subarray(32, 48)) }
}

function markerCheck (body: Uint8Array): Uint8Array {
  const message = new Uint8Array(MARKER_LABEL.length + body.length)
  message.set(MARKER_LABEL, 0)
  message.set(body, MARKER_LABEL.length)
  return blake2b(MAC_BYTES, message)
}

function incomplete (reason: string): { state: 'incomplete', reason: string } {
  return { state: 'incomplete', reason }
}

function checkEpoch (epoch: number): number {
  if (!Number.isSafeInteger(epoch) || epoch < 0) {
    throw new KeysError(KeysErrorCode.BAD_EPOCH, `an epoch number must be a non-negative integer, got ${epoch}`)
  }
  return epoch
}
