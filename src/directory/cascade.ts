/**
 * The cascade: the public facts every node and client of one cascade share — its geometry,
 * round length, epoch schedule, and for each hop its position, address, link key and its
 * public onion keys, one per epoch (they rotate: docs/KEYS.md §2).
 *
 * A cascade comes from a verified signed descriptor (signed-cascade.ts), or from the older
 * unsigned JSON file (`cascadeFromJson`, kept for hand-made and test cascades).
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
import { Geometry } from '../protocol/geometry.js'
import { checkShaping, DEFAULT_SHAPING, type ShapingParams } from '../protocol/shaping.js'
import { formatHostPort, type HostPort } from '../base/address.js'
import { DEFAULT_EPOCH_S, DEFAULT_GENESIS_S, epochAt, epochSchedule, type EpochSchedule } from '../protocol/epoch.js'
import { arr, ConfigError, hex, hostPort, int, obj, oneOf, validate, type ConfigIssue, type Infer } from '../base/schema.js'

export const CASCADE_FILE_VERSION = 1
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
  readonly geometry: Geometry
  readonly roundMs: number
  /** Epoch length in seconds, and the Unix time epoch 0 starts (docs/KEYS.md §2). */
  readonly epochS: number
  readonly genesis: number
  /** The cascade's traffic shaping (src/protocol/shaping.ts); every party follows it. */
  readonly shaping: ShapingParams
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
  return epochSchedule({ epochS: cascade.epochS, genesisS: cascade.genesis })
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

/** The JSON form of a cascade file: keys in hex. A hop gives `onionKey` (for `epoch`), `onionKeys`, or both. */
export const cascadeFileSpec = obj({
  version: oneOf([CASCADE_FILE_VERSION] as const),
  cellSize: int({ min: 512, max: 32768, default: 2048 }),
  roundMs: int({ min: 1, max: 10_000, default: 10 }),
  epochS: int({ min: 1, max: 366 * 86400, default: DEFAULT_EPOCH_S }),
  genesis: int({ min: 0, default: DEFAULT_GENESIS_S }),
  /** The epoch a hop's single `onionKey` belongs to. */
  epoch: int({ min: 0, default: 0 }),
  hops: arr(obj({
    role: oneOf(['mix', 'exit'] as const),
    address: hostPort(),
    linkKey: hex(32),
    onionKey: hex(32),
    onionKeys: arr(obj({ epoch: int({ min: 0 }), onionKey: hex(32) }), { minLength: 1, maxLength: 4 }),
  }, { optional: ['onionKey', 'onionKeys'] }), { minLength: 1, maxLength: 8 }),
})

/** A cascade file as written to disk (the input form of `cascadeFileSpec`). */
export interface CascadeJson {
  readonly version: typeof CASCADE_FILE_VERSION
  readonly cellSize: number
  readonly roundMs: number
  readonly epochS: number
  readonly genesis: number
  readonly hops: ReadonlyArray<{
    readonly role: 'mix' | 'exit'
    readonly address: string
    readonly linkKey: string
    readonly onionKeys: ReadonlyArray<{ readonly epoch: number, readonly onionKey: string }>
  }>
}

export type CascadeFile = Infer<typeof cascadeFileSpec>

/** One hop as `makeCascade` takes it: onion keys as a map, a list, or one key for `parts.epoch`. */
export interface CascadeHopInput {
  readonly role: 'mix' | 'exit'
  readonly address: HostPort
  readonly linkKey: Uint8Array
  readonly onionKeys?: ReadonlyMap<number, Uint8Array> | ReadonlyArray<{ readonly epoch: number, readonly onionKey: Uint8Array }>
  /** Shorthand: the hop's key for `parts.epoch` (default epoch 0). */
  readonly onionKey?: Uint8Array
}

export interface CascadeParts {
  readonly cellSize: number
  readonly roundMs: number
  readonly epochS?: number
  readonly genesis?: number
  /** The epoch of the hops' single `onionKey`s, if they give one. */
  readonly epoch?: number
  readonly hops: readonly CascadeHopInput[]
  /** The cascade ID to use instead of the unsigned file's (a verified descriptor's core ID). */
  readonly id?: Uint8Array
  /** Default: no shaping (`off`), which unsigned test cascades use. */
  readonly shaping?: ShapingParams
}

/** Build a cascade from its parts, computing the geometry and (unless given) the ID. */
export function makeCascade (parts: CascadeParts): Cascade {
  const geometry = new Geometry({ cellSize: parts.cellSize, hops: parts.hops.length })
  const schedule = epochSchedule({ epochS: parts.epochS ?? DEFAULT_EPOCH_S, genesisS: parts.genesis ?? DEFAULT_GENESIS_S })
  const shaping = parts.shaping ?? DEFAULT_SHAPING.off
  checkShaping(shaping, parts.roundMs)
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
    id: parts.id ?? cascadeId(parts.cellSize, parts.roundMs, hops),
    geometry,
    roundMs: parts.roundMs,
    epochS: schedule.epochS,
    genesis: schedule.genesisS,
    shaping,
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
  readonly params: { readonly cellSize: number, readonly roundMs: number, readonly epochS: number, readonly genesis: number, readonly shaping: ShapingParams }
  readonly epochs: readonly number[]
  readonly nodes: ReadonlyArray<{ readonly role: 'mix' | 'exit', readonly address: HostPort, readonly linkKey: Uint8Array }>
  onionKey (position: number, epoch: number): Uint8Array | undefined
}): Cascade {
  return makeCascade({
    id: verified.id,
    cellSize: verified.params.cellSize,
    roundMs: verified.params.roundMs,
    epochS: verified.params.epochS,
    genesis: verified.params.genesis,
    shaping: verified.params.shaping,
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

/** Validate a parsed cascade file (field errors name the field) and build the cascade. */
export function cascadeFromJson (json: unknown): Cascade {
  const file = validate(cascadeFileSpec, json)
  // What makeCascade treats as a caller's mistake (a TypeError) is the file's here: say so
  // as a ConfigError naming the field (the fuzzer found both as TypeErrors).
  const issues: ConfigIssue[] = []
  file.hops.forEach((hop, i) => {
    const expected = i === file.hops.length - 1 ? 'exit' : 'mix'
    if (hop.role !== expected) {
      issues.push({ path: `hops[${i}].role`, message: `config field "hops[${i}].role": must be "${expected}" (the mixes in order, then the exit, last), got "${hop.role}"` })
    }
    if (hop.onionKey === undefined && hop.onionKeys === undefined) {
      issues.push({ path: `hops[${i}]`, message: `config field "hops[${i}]": needs "onionKey" or "onionKeys"` })
    }
  })
  if (issues.length > 0) throw ConfigError.fromIssues(issues)
  return makeCascade(file)
}

export function cascadeToJson (cascade: Cascade): CascadeJson {
  const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex')
  return {
    version: CASCADE_FILE_VERSION,
    cellSize: cascade.geometry.cellSize,
    roundMs: cascade.roundMs,
    epochS: cascade.epochS,
    genesis: cascade.genesis,
    hops: cascade.hops.map((hop) => ({
      role: hop.role,
      address: formatHostPort(hop.address),
      linkKey: hexOf(hop.linkKey),
      onionKeys: [...hop.onionKeys].sort(([a], [b]) => a - b).map(([epoch, key]) => ({ epoch, onionKey: hexOf(key) })),
    })),
  }
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
