/**
 * Where a client's cascade comes from: a signed cascade descriptor file, which is the trust
 * anchor, and optionally a URL serving fresher descriptors (the entry mix's admin `/cascade`
 * or a directory), refreshed before each epoch change.
 *
 *   const source = await SignedCascadeSource.open({ file: 'cascade.json', url: 'http://127.0.0.1:9101/cascade' })
 *   runClient({ cascade: source, … })        // source.current() before each new circuit
 *   …
 *   source.close()                          // stops the refresh timer
 *
 * Trust: the identity keys of the file's hops are pinned when it is opened. Every descriptor
 * accepted later (from the URL, or the file re-read) must verify completely
 * (verifyCascadeDescriptor: every signature, order, parameters, validity now, a key for the
 * current epoch) with exactly those identities, and must not be older than the last one
 * accepted (`lastSeenEpoch`, R22). So whoever serves the URL can at most withhold fresh
 * descriptors or replay a still-valid one; it cannot change the cascade.
 *
 * An expired file still anchors the pins (its signatures are checked as of its last valid
 * second) when a URL can supply a current descriptor; without a URL it is refused.
 *
 * Refresh: at `lead` seconds before the end of each epoch (default a quarter epoch, at most
 * 5 minutes), the URL is fetched (with undici); if it fails the file is re-read. A refresh
 * that leaves the client without the next epoch's keys is retried every `lead / 4` (at least
 * one second). The timer is unref'd: it never keeps a process alive.
 */
import { readFile } from 'node:fs/promises'
import { MixgateError } from '../errors.js'
import { ConfigError } from '../base/config-error.js'
import { epochAt, epochEndS } from '../protocol/epoch.js'
import type { Logger } from '../base/logger.js'
import { cascadeFromVerified, type Cascade, type CascadeSource } from './cascade.js'
import { scheduleOf } from '../protocol/cascade-params.js'
import { DescriptorError, DescriptorErrorCode } from './descriptor-error.js'
import { MAX_DESCRIPTOR_BYTES, parseDescriptorBytes } from './descriptor-json.js'
import { verifyCascadeDescriptor, type VerifiedCascade } from './signed-cascade.js'

export class CascadeSourceError extends MixgateError {}

export interface SignedCascadeSourceOptions {
  /** The signed cascade descriptor file: the trust anchor. Re-read on refresh without a URL (or when it fails). */
  readonly file?: string
  /** Instead of a file: the trust anchor descriptor itself (parsed JSON; `mixgate up` in one process). */
  readonly anchor?: unknown
  /** Where fresh descriptors are fetched (http or https). */
  readonly url?: string
  /** Instead of a URL: a function giving fresh descriptors (parsed JSON). */
  readonly fetch?: () => Promise<unknown>
  /** Milliseconds since the Unix epoch (default `Date.now`). */
  readonly clock?: () => number
  readonly logger?: Logger
  /** Deadline of one fetch, connection to last byte (default 10 s). */
  readonly fetchTimeoutMs?: number
  /** Seconds before an epoch change at which to refresh (default min(300, epochS / 4)). */
  readonly refreshLeadS?: number
  /** Keep the cascade fresh with a timer (default true; tests call `refresh()` by hand). */
  readonly autoRefresh?: boolean
  /** Future publication times tolerated, in seconds (default 60). */
  readonly maxSkewS?: number
}

/** Where the current descriptor came from. */
export type CascadeOrigin = 'file' | 'url'

export class SignedCascadeSource implements CascadeSource {
  private readonly options: SignedCascadeSourceOptions
  private readonly clock: () => number
  private readonly pins: readonly Uint8Array[]
  private accepted: VerifiedCascade
  private cascade: Cascade
  private acceptedFrom: CascadeOrigin
  private timer: NodeJS.Timeout | undefined
  private closed = false
  private refreshing: Promise<void> | undefined

  private constructor (options: SignedCascadeSourceOptions, pins: readonly Uint8Array[], verified: VerifiedCascade, origin: CascadeOrigin) {
    this.options = options
    this.clock = options.clock ?? Date.now
    this.pins = pins
    this.accepted = verified
    this.cascade = cascadeFromVerified(verified)
    this.acceptedFrom = origin
  }

  /**
   * Read and verify the file, pin its identities, fetch the URL if there is one, and start
   * the refresh timer. Throws `DescriptorError` (the file is refused, or it expired and the
   * URL gave nothing valid), `ConfigError` (the file cannot be read) or
   * `CascadeSourceError` (the file expired and the URL could not be fetched).
   */
  static async open (options: SignedCascadeSourceOptions): Promise<SignedCascadeSource> {
    const clock = options.clock ?? Date.now
    if ((options.file === undefined) === (options.anchor === undefined)) throw new TypeError('give the trust anchor as a file or as a descriptor, not both')
    const json = options.anchor ?? await loadFile(options.file!)
    const name = options.file ?? 'anchor'
    const fresh = freshOf(options)
    const nowS = clock() / 1000
    let fileNow: VerifiedCascade | undefined
    let anchor: VerifiedCascade
    try {
      fileNow = verifyCascadeDescriptor(json, { now: nowS, ...skew(options) })
      anchor = fileNow
    } catch (err) {
      if (!(err instanceof DescriptorError) || !isStale(err)) throw inFile(name, err)
      if (fresh === undefined) throw inFile(name, err, 'and no cascadeUrl is set to fetch a current one')
      // Still the trust anchor: every signature checked as of its last valid second.
      anchor = verifyCascadeDescriptor(json, { now: lastValidSecond(json), ...skew(options) })
    }
    const pins = anchor.nodes.map((node) => node.identityKey)
    if (fresh === undefined) return new SignedCascadeSource(options, pins, fileNow!, 'file').start()
    try {
      const fetched = await fresh.verified(pins, nowS, fileNow?.newestEpoch)
      return new SignedCascadeSource(options, pins, fetched, 'url').start()
    } catch (err) {
      if (fileNow === undefined) throw err
      options.logger?.warn('cascade.fetch_failed', { error: err, using: 'file' })
      return new SignedCascadeSource(options, pins, fileNow, 'file').start()
    }
  }

  /** The cascade the next circuit is built from (onion keys of every epoch the descriptor covers). */
  current (): Cascade {
    return this.cascade
  }

  /** The descriptor currently used, as verified. */
  get verified (): VerifiedCascade {
    return this.accepted
  }

  get origin (): CascadeOrigin {
    return this.acceptedFrom
  }

  /**
   * Fetch the URL (if any), else or on failure re-read the file, and take the result if it
   * verifies with the pinned identities and is no older than the current one. Throws (and
   * keeps the current cascade) when no source gave a valid descriptor.
   */
  refresh (): Promise<void> {
    this.refreshing ??= this.refreshOnce().finally(() => { this.refreshing = undefined })
    return this.refreshing
  }

  /** Stop the refresh timer. */
  close (): void {
    this.closed = true
    clearTimeout(this.timer)
    this.timer = undefined
  }

  private async refreshOnce (): Promise<void> {
    const nowS = this.clock() / 1000
    const lastSeen = this.accepted.newestEpoch
    const failures: string[] = []
    const fresh = freshOf(this.options)
    if (fresh !== undefined) {
      try {
        this.take(await fresh.verified(this.pins, nowS, lastSeen), 'url')
        return
      } catch (err) {
        failures.push(messageOf(err))
        if (this.options.file === undefined) throw new CascadeSourceError('CASCADE_REFRESH_FAILED', `no fresh cascade descriptor: ${failures.join('; ')}`, { cause: err })
        this.options.logger?.warn('cascade.fetch_failed', { error: err, using: 'file' })
      }
    }
    if (this.options.file === undefined) return
    try {
      const json = await loadFile(this.options.file)
      this.take(verifyCascadeDescriptor(json, { now: nowS, pinnedIdentities: this.pins, lastSeenEpoch: lastSeen, ...skew(this.options) }), 'file')
    } catch (err) {
      failures.push(`${JSON.stringify(this.options.file)}: ${messageOf(err)}`)
      throw new CascadeSourceError('CASCADE_REFRESH_FAILED', `no fresh cascade descriptor: ${failures.join('; ')}`, { cause: err })
    }
  }

  private take (verified: VerifiedCascade, origin: CascadeOrigin): void {
    const before = this.accepted.newestEpoch
    this.accepted = verified
    this.cascade = cascadeFromVerified(verified)
    this.acceptedFrom = origin
    this.options.logger?.info('cascade.refreshed', { origin, epochs: verified.epochs.join(','), newer: verified.newestEpoch > before })
  }

  private start (): this {
    if (this.options.autoRefresh !== false) this.schedule()
    return this
  }

  private schedule (): void {
    if (this.closed) return
    const delayMs = this.nextRefreshDelayMs()
    this.timer = setTimeout(() => {
      this.refresh()
        .catch((err: unknown) => this.options.logger?.warn('cascade.refresh_failed', { error: err }))
        .finally(() => this.schedule())
    }, delayMs)
    this.timer.unref()
  }

  /** Before the end of the current epoch; sooner (retry) when the next epoch's keys are missing. */
  nextRefreshDelayMs (): number {
    const schedule = scheduleOf(this.accepted.params)
    const nowS = this.clock() / 1000
    const lead = this.options.refreshLeadS ?? Math.min(300, schedule.epochS / 4)
    const retryS = Math.max(1, lead / 4)
    const epoch = epochAt(schedule, Math.max(nowS, schedule.genesisS))
    let at = epochEndS(schedule, epoch) - lead
    if (nowS >= at) {
      at = this.accepted.newestEpoch > epoch ? epochEndS(schedule, epoch + 1) - lead : nowS + retryS
    }
    return Math.max(0, Math.ceil((at - nowS) * 1000))
  }
}

/** Refusals that only say "too old" (a newer descriptor from the URL can fix them). */
function isStale (err: DescriptorError): boolean {
  return err.code === DescriptorErrorCode.EXPIRED || err.code === DescriptorErrorCode.EPOCH_KEY_EXPIRED
}

function lastValidSecond (json: unknown): number {
  const until = (json as { validUntil?: unknown } | null)?.validUntil
  return typeof until === 'number' && Number.isFinite(until) ? until - 1 : 0
}

function skew (options: SignedCascadeSourceOptions): { maxSkewS?: number } {
  return options.maxSkewS === undefined ? {} : { maxSkewS: options.maxSkewS }
}

/** The descriptor file parsed; ConfigError naming it if unreadable, DescriptorError if not JSON. */
async function loadFile (path: string): Promise<unknown> {
  let bytes: Uint8Array
  try {
    bytes = await readFile(path)
  } catch (err) {
    const code = (err as { code?: unknown }).code
    const why = code === 'ENOENT' ? 'no such file or directory (ENOENT)' : String(code)
    throw new ConfigError('CONFIG_UNREADABLE', `cannot read cascade descriptor ${JSON.stringify(path)}: ${why}`, { file: path, cause: err })
  }
  try {
    return parseDescriptorBytes(bytes)
  } catch (err) {
    throw inFile(path, err)
  }
}

/** Where fresh descriptors come from (the URL, or the in-process function), if anywhere. */
function freshOf (options: SignedCascadeSourceOptions): { verified: (pins: readonly Uint8Array[], nowS: number, lastSeenEpoch: number | undefined) => Promise<VerifiedCascade> } | undefined {
  if (options.fetch !== undefined) {
    const fetch = options.fetch
    return { verified: async (pins, nowS, lastSeenEpoch) => verifyFresh('the in-process cascade', await fetch(), options, pins, nowS, lastSeenEpoch) }
  }
  if (options.url !== undefined) {
    const url = options.url
    return { verified: async (pins, nowS, lastSeenEpoch) => verifyFresh(url, parseFetched(url, await fetchBytes(url, options.fetchTimeoutMs ?? 10_000)), options, pins, nowS, lastSeenEpoch) }
  }
  return undefined
}

/** Verify a fresh descriptor from `url` with `pins` and `lastSeenEpoch`. */
function verifyFresh (url: string, json: unknown, options: SignedCascadeSourceOptions, pins: readonly Uint8Array[], nowS: number, lastSeenEpoch: number | undefined): VerifiedCascade {
  try {
    return verifyCascadeDescriptor(json, {
      now: nowS,
      pinnedIdentities: pins,
      ...(lastSeenEpoch === undefined ? {} : { lastSeenEpoch }),
      ...skew(options),
    })
  } catch (err) {
    if (err instanceof DescriptorError) {
      throw new DescriptorError(err.code, `the cascade descriptor from ${url} is refused: ${err.message}`, { ...(err.field === undefined ? {} : { field: err.field }), ...(err.hop === undefined ? {} : { hop: err.hop }), cause: err })
    }
    throw err
  }
}

function parseFetched (url: string, bytes: Uint8Array): unknown {
  try {
    return parseDescriptorBytes(bytes)
  } catch (err) {
    if (err instanceof DescriptorError) throw new DescriptorError(err.code, `the cascade descriptor from ${url} is refused: ${err.message}`, { cause: err })
    throw err
  }
}

/** The body of a 200 answer from `url`, at most MAX_DESCRIPTOR_BYTES, within `timeoutMs`. */
export async function fetchBytes (url: string, timeoutMs: number): Promise<Uint8Array> {
  const failed = (why: string, cause?: unknown): CascadeSourceError =>
    new CascadeSourceError('CASCADE_FETCH_FAILED', `cannot fetch ${url}: ${why}`, { cause })
  let response
  try {
    // Loaded on first use: `mixgate up`'s client reads its cascade from the hops, never by HTTP (issue #17).
    const { request } = await import('undici')
    response = await request(url, { method: 'GET', signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } })
  } catch (err) {
    throw failed(reasonOf(err), err)
  }
  try {
    if (response.statusCode !== 200) throw failed(`HTTP status ${response.statusCode}`)
    const chunks: Uint8Array[] = []
    let length = 0
    for await (const chunk of response.body) {
      length += (chunk as Uint8Array).length
      if (length > MAX_DESCRIPTOR_BYTES) throw failed(`the answer is larger than ${MAX_DESCRIPTOR_BYTES} bytes`)
      chunks.push(chunk as Uint8Array)
    }
    return Buffer.concat(chunks)
  } catch (err) {
    if (err instanceof CascadeSourceError) throw err
    throw failed(reasonOf(err), err)
  } finally {
    if (!response.body.readableEnded) {
      // Destroying an unread body emits an abort error; nobody is waiting for it any more.
      response.body.on('error', () => {})
      response.body.destroy()
    }
  }
}

function reasonOf (err: unknown): string {
  const { code, name } = err as { code?: unknown, name?: unknown }
  if (name === 'TimeoutError' || name === 'AbortError') return 'timed out'
  if (typeof code === 'string') return code
  return err instanceof Error ? err.message : String(err)
}

function inFile (path: string, err: unknown, extra?: string): unknown {
  if (!(err instanceof DescriptorError)) return err
  return new DescriptorError(err.code, `cascade descriptor ${JSON.stringify(path)}: ${err.message}${extra === undefined ? '' : `, ${extra}`}`, {
    ...(err.field === undefined ? {} : { field: err.field }),
    ...(err.hop === undefined ? {} : { hop: err.hop }),
    cause: err,
  })
}

function messageOf (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
