/**
 * The cascade: the public facts every node and client of one cascade share — its geometry,
 * round length, epoch schedule, and for each hop its position, address, link key and its
 * public onion keys, one per epoch (they rotate: docs/KEYS.md §2).
 *
 * A cascade comes from a verified signed descriptor (signed-cascade.ts), or from the older
 * unsigned JSON file (`cascadeFromJson` in cascade-json.ts, kept for hand-made and test
 * cascades). This file holds no schema: a hop's thread under `mixgate up` imports it and
 * never loads the schema library (zod, some 5 MB of heap per thread: issue #17).
 *
 *   cascadeId = BLAKE2b-256("mixgate/v1/cascade" ‖ cellSize(4) ‖ roundMs(4) ‖ hops(1)
 *                           ‖ for each hop: position(1) ‖ linkKey(32) ‖ len(1) ‖ "host:port")
 *
 * Onion keys and epochs are left out of the ID on purpose: they rotate, the cascade (and the
 * links, whose Noise prologue carries the ID) stays. A verified descriptor replaces this ID
 * with its own core ID, which likewise leaves them out.
 *
 * A client holds a `CascadeSource`: the cascade can change under it (new epoch keys), and
 * each new circuit takes the keys of the epoch current when it is built.
 */
import { blake2b } from '../crypto/index.js'
import type { Geometry } from '../protocol/geometry.js'
import { cascadeGeometry, scheduleOf, type CascadeParams } from '../protocol/cascade-params.js'
import { checkShaping, DEFAULT_SHAPING } from '../protocol/shaping.js'
import { formatHostPort, type HostPort } from '../base/address.js'
import { DEFAULT_EPOCH_S, DEFAULT_GENESIS_S, epochAt, epochSchedule, type EpochSchedule } from '../protocol/epoch.js'

const CASCADE_ID_LABEL = new TextEncoder().encode('mixgate/v1/cascade')

export interface CascadeHop {
  /** 1 = entry … hops = exit. */
  readonly position: number
  readonly role: 'mix' | 'exit'
  readonly address: HostPort
  readonly linkKey: Uint8Array
  /** Public onion keys by epoch (normally the current and the next). */
  readonly onionKeys: ReadonlyMap<number, Uint8Array>
}

export interface Cascade {
  readonly id: Uint8Array
  /** Cell size, round, epoch schedule and shaping: what every party of the cascade follows. */
  readonly params: CascadeParams
  /** The sizes that follow from `params.cellSize` and the number of hops. */
  readonly geometry: Geometry
  readonly hops: readonly CascadeHop[]
}

/**
 * Where a client gets its cascade: `current()` is what the next circuit is built from;
 * `refresh()`, if there is one, fetches newer keys (a descriptor URL, the file again).
 */
export interface CascadeSource {
  current (): Cascade
  refresh? (): Promise<void>
}

/** The epoch schedule of a cascade. */
export function cascadeSchedule (cascade: Cascade): EpochSchedule {
  return scheduleOf(cascade.params)
}

/** The epoch at Unix time `nowS` (default now) under the cascade's schedule. */
export function cascadeEpochAt (cascade: Cascade, nowS = Date.now() / 1000): number {
  return epochAt(cascadeSchedule(cascade), nowS)
}

/** Every hop's onion key for `epoch`, entry first; undefined if any hop lacks one. */
export function onionKeysFor (cascade: Cascade, epoch: number): Uint8Array[] | undefined {
  const keys: Uint8Array[] = []
  for (const hop of cascade.hops) {
    const key = hop.onionKeys.get(epoch)
    if (key === undefined) return undefined
    keys.push(key)
  }
  return keys
}

/** One hop as `makeCascade` takes it: onion keys as a map, a list, or one key for `parts.epoch`. */
export interface CascadeHopInput {
  readonly role: 'mix' | 'exit'
  readonly address: HostPort
  readonly linkKey: Uint8Array
  readonly onionKeys?: ReadonlyMap<number, Uint8Array> | ReadonlyArray<{ readonly epoch: number, readonly onionKey: Uint8Array }>
  /** Shorthand: the hop's key for `parts.epoch` (default epoch 0). */
  readonly onionKey?: Uint8Array
}

/** The parameters (epoch schedule default 3600 s from 0; shaping default `off`, which unsigned test cascades use) and the hops. */
export interface CascadeParts extends Pick<CascadeParams, 'cellSize' | 'roundMs'>, Partial<Pick<CascadeParams, 'epochS' | 'genesis' | 'shaping'>> {
  /** The epoch of the hops' single `onionKey`s, if they give one. */
  readonly epoch?: number
  readonly hops: readonly CascadeHopInput[]
  /** The cascade ID to use instead of the unsigned file's (a verified descriptor's core ID). */
  readonly id?: Uint8Array
}

/** Build a cascade from its parts, computing the geometry and (unless given) the ID. */
export function makeCascade (parts: CascadeParts): Cascade {
  const geometry = cascadeGeometry(parts, parts.hops.length)
  const schedule = epochSchedule({ epochS: parts.epochS ?? DEFAULT_EPOCH_S, genesisS: parts.genesis ?? DEFAULT_GENESIS_S })
  const params: CascadeParams = { cellSize: parts.cellSize, roundMs: parts.roundMs, epochS: schedule.epochS, genesis: schedule.genesisS, shaping: parts.shaping ?? DEFAULT_SHAPING.off }
  checkShaping(params.shaping, params.roundMs)
  const hops: CascadeHop[] = parts.hops.map((hop, i) => ({
    position: i + 1,
    role: hop.role,
    address: hop.address,
    linkKey: hop.linkKey,
    onionKeys: keyMapOf(hop, parts.epoch ?? 0, i + 1),
  }))
  hops.forEach((hop, i) => {
    const expected = i === hops.length - 1 ? 'exit' : 'mix'
    if (hop.role !== expected) throw new TypeError(`cascade hop ${i + 1} must be ${expected === 'exit' ? 'the exit' : 'a mix'}`)
  })
  return {
    id: parts.id ?? cascadeId(params.cellSize, params.roundMs, hops),
    params,
    geometry,
    hops,
  }
}

/** The same cascade with other onion keys (the ID does not change: it does not cover them). */
export function withOnionKeys (cascade: Cascade, keysOfHop: (position: number) => ReadonlyMap<number, Uint8Array>): Cascade {
  return { ...cascade, hops: cascade.hops.map((hop) => ({ ...hop, onionKeys: new Map(keysOfHop(hop.position)) })) }
}

/**
 * The cascade of a verified signed descriptor (`verifyCascadeDescriptor`'s result, taken by
 * shape so that this file does not import signed-cascade.ts): every covered epoch's keys,
 * the signed schedule, and the descriptor's core ID.
 */
export function cascadeFromVerified (verified: {
  readonly id: Uint8Array
  readonly params: CascadeParams
  readonly epochs: readonly number[]
  readonly nodes: ReadonlyArray<{ readonly role: 'mix' | 'exit', readonly address: HostPort, readonly linkKey: Uint8Array }>
  onionKey (position: number, epoch: number): Uint8Array | undefined
}): Cascade {
  return makeCascade({
    ...verified.params,
    id: verified.id,
    hops: verified.nodes.map((node, i) => ({
      role: node.role,
      address: node.address,
      linkKey: node.linkKey,
      onionKeys: new Map(verified.epochs.flatMap((epoch) => {
        const key = verified.onionKey(i + 1, epoch)
        return key === undefined ? [] : [[epoch, key] as const]
      })),
    })),
  })
}

export function cascadeId (cellSize: number, roundMs: number, hops: ReadonlyArray<Pick<CascadeHop, 'position' | 'linkKey' | 'address'>>): Uint8Array {
  const parts: number[] = [...CASCADE_ID_LABEL]
  const u32 = (n: number): number[] => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]
  parts.push(...u32(cellSize), ...u32(roundMs), hops.length)
  for (const hop of hops) {
    const where = new TextEncoder().encode(formatHostPort(hop.address))
    parts.push(hop.position, ...hop.linkKey, where.length, ...where)
  }
  return blake2b(32, Uint8Array.from(parts))
}

/** The Noise prologue of the link into hop `position`: "mixgate/v1" ‖ cascadeId ‖ position. */
export function linkPrologue (cascade: Cascade, position: number): Uint8Array {
  const label = new TextEncoder().encode('mixgate/v1')
  const out = new Uint8Array(label.length + 32 + 1)
  out.set(label, 0)
  out.set(cascade.id, label.length)
  out[out.length - 1] = position
  return out
}

function keyMapOf (hop: CascadeHopInput, epoch: number, position: number): Map<number, Uint8Array> {
  const map = new Map<number, Uint8Array>()
  if (hop.onionKeys instanceof Map) {
    for (const [e, key] of hop.onionKeys) map.set(e, key)
  } else if (hop.onionKeys !== undefined) {
    for (const { epoch: e, onionKey } of hop.onionKeys as ReadonlyArray<{ epoch: number, onionKey: Uint8Array }>) map.set(e, onionKey)
  }
  if (hop.onionKey !== undefined) map.set(epoch, hop.onionKey)
  if (map.size === 0) throw new TypeError(`cascade hop ${position} has no onion key`)
  for (const key of map.values()) {
    if (key.length !== 32) throw new TypeError(`cascade hop ${position} has an onion key that is not 32 bytes`)
  }
  return map
}
