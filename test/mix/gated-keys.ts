/**
 * Test helper: onion keys whose tag log appends settle only when the test says so.
 *
 * `gatedKeys(source)` hands a hop the keys of `source`, each with a `log` whose `append`
 * records the call and waits: the test resolves it (the tags are "durable") or fails it (a
 * write error). So a test can keep a hop's new circuits at "tag not yet durable" for as many
 * rounds as it likes. Only `append` is stood in for, the one thing a hop calls on a TagLog;
 * the hop itself is the real one.
 */
import type { ActiveOnionKey, OnionKeySource } from '../../src/node/keys/onion-key-source.js'
import type { TagLog } from '../../src/node/keys/tag-log.js'

export interface GatedAppend {
  /** Tags in this append (one per CREATE the hop accepted since its last round). */
  readonly tags: number
  /** What `stamp()` returned when the hop called append (a test passes the hop's round). */
  readonly stampedAt: number
  readonly settled: boolean
  resolve (): void
  fail (): void
}

export interface GatedKeys {
  readonly source: OnionKeySource
  /** Every append the hop made, in order. */
  readonly appends: GatedAppend[]
  /** Called on each append; its value is kept in `stampedAt` (default 0). */
  stamp: () => number
  /** Resolve every pending append, and every later one at once (before stopping the hop). */
  openAll (): void
}

export function gatedKeys (inner: OnionKeySource): GatedKeys {
  const appends: GatedAppend[] = []
  let open = false
  const gated: GatedKeys = {
    appends,
    stamp: () => 0,
    source: undefined as unknown as OnionKeySource,
    openAll () {
      open = true
      for (const append of appends) if (!append.settled) append.resolve()
    },
  }
  const log = {
    append (tags: readonly Uint8Array[]): Promise<void> {
      if (open) return Promise.resolve()
      return new Promise<void>((resolve, reject) => {
        const append = {
          tags: tags.length,
          stampedAt: gated.stamp(),
          settled: false,
          resolve () { append.settled = true; resolve() },
          fail () { append.settled = true; reject(Object.assign(new Error('injected tag log failure'), { code: 'TEST_TAG_LOG_FAILED' })) },
        }
        appends.push(append)
      })
    },
  } as unknown as TagLog
  // The hop tells keys apart by identity: wrap each inner key once.
  const wrapped = new WeakMap<ActiveOnionKey, ActiveOnionKey>()
  const wrap = (key: ActiveOnionKey): ActiveOnionKey => {
    let out = wrapped.get(key)
    if (out === undefined) { out = { ...key, log }; wrapped.set(key, out) }
    return out
  }
  ;(gated as { source: OnionKeySource }).source = {
    accepted: () => inner.accepted().map(wrap),
    publicKeys: () => inner.publicKeys(),
    schedule: inner.schedule,
    graceS: inner.graceS,
    get discarded () { return inner.discarded },
    currentEpoch: () => inner.currentEpoch(),
    onChange: (listener) => inner.onChange(listener),
    discard: async (epoch) => await inner.discard(epoch),
    update: async () => await inner.update(),
    close: async () => await inner.close(),
  }
  return gated
}
