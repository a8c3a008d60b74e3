/**
 * The onion keys a new circuit is built with: those of the epoch current at that moment,
 * from the `CascadeSource`. If the cascade has none for it, the source may be refreshed (one
 * fetch at a time). Circuits built earlier are untouched by an epoch boundary: the hops keep
 * the previous key for a grace window, and a circuit's layer keys do not depend on the onion
 * key once it exists. The cascade must stay the one the client started with (same ID and
 * geometry); another one needs a restart.
 */
import { equal } from '../crypto/index.js'
import { cascadeEpochAt, cascadeSchedule, onionKeysFor, type Cascade, type CascadeSource } from '../directory/cascade.js'
import { epochEndS } from '../protocol/epoch.js'
import type { Geometry } from '../protocol/geometry.js'
import { createOnion, type CreatedOnion } from '../protocol/onion.js'
import type { ClientLog } from './client-log.js'

/** A new circuit's onion (its CREATE header and every hop's layer keys). */
export interface EpochOnion {
  readonly onion: CreatedOnion
  readonly epoch: number
  /** When the epoch ends (Unix ms): the circuit must end by then under shaping. */
  readonly epochEndMs: number
}

export class EpochKeys {
  readonly geometry: Geometry
  readonly roundMs: number
  private readonly source: CascadeSource
  private readonly cascadeId: Uint8Array
  private readonly events: ClientLog
  private refreshing: Promise<void> | null = null

  constructor (source: CascadeSource, events: ClientLog) {
    this.source = source
    this.events = events
    const first = source.current()
    this.geometry = first.geometry
    this.cascadeId = first.id
    this.roundMs = first.roundMs
  }

  get canRefresh (): boolean { return this.source.refresh !== undefined }

  /** An onion for the epoch current now, or 'no-keys' (none for it, or the cascade changed). */
  onion (): EpochOnion | 'no-keys' {
    const cascade = this.currentCascade()
    if (cascade === undefined) return 'no-keys'
    let epoch: number
    try {
      epoch = cascadeEpochAt(cascade)
    } catch {
      return 'no-keys' // the clock is before the schedule's genesis
    }
    const hopKeys = onionKeysFor(cascade, epoch)
    if (hopKeys === undefined) return 'no-keys'
    const onion = createOnion(hopKeys, { geometry: this.geometry, cascadeId: this.cascadeId, epoch })
    return { onion, epoch, epochEndMs: epochEndS(cascadeSchedule(cascade), epoch) * 1000 }
  }

  /** One refresh at a time; its failure is logged, and the caller sees the keys still missing. */
  refresh (): Promise<void> {
    if (this.refreshing !== null) return this.refreshing
    const source = this.source
    const refresh = source.refresh
    if (refresh === undefined) return Promise.resolve()
    const run = (async () => {
      try {
        await refresh.call(source)
      } catch (err) {
        this.events.warnings.count('cascade.refresh_failed', { code: (err as { code?: string }).code ?? 'ERROR' })
      } finally {
        this.refreshing = null
      }
    })()
    this.refreshing = run
    return run
  }

  /** Refresh in the background, unless the source cannot or a refresh is running. */
  refreshSoon (): void {
    if (this.source.refresh !== undefined && this.refreshing === null) void this.refresh()
  }

  /** The current epoch, or -1 (for logs). */
  epochNow (): number {
    try {
      return cascadeEpochAt(this.source.current())
    } catch {
      return -1
    }
  }

  private currentCascade (): Cascade | undefined {
    const cascade = this.source.current()
    if (!equal(cascade.id, this.cascadeId) || cascade.geometry.cellSize !== this.geometry.cellSize || cascade.hops.length !== this.geometry.hops) {
      this.events.errors.count('cascade.changed', { reason: 'the cascade source now names another cascade; restart the client to use it' })
      return undefined
    }
    return cascade
  }
}
