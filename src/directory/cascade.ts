/**
 * The cascade: the public facts every node and client of one cascade share — its geometry,
 * round length, epoch, and for each hop its position, address, link key and onion key.
 *
 * In this version the cascade file is unsigned JSON written by `mixgate up` (or by hand);
 * signed node descriptors and epoch keys replace it later (DESIGN "Cascade descriptor").
 *
 *   cascadeId = BLAKE2b-256("mixgate/v1/cascade" ‖ cellSize(4) ‖ roundMs(4) ‖ hops(1)
 *                           ‖ for each hop: position(1) ‖ linkKey(32) ‖ len(1) ‖ "host:port")
 *
 * Onion keys and the epoch are left out of the ID on purpose: they rotate, the cascade stays.
 */
import { blake2b } from '../crypto/index.js'
import { Geometry } from '../protocol/geometry.js'
import { formatHostPort, type HostPort } from '../node/address.js'
import { arr, hex, hostPort, int, obj, oneOf, validate, type Infer } from '../node/schema.js'

export const CASCADE_FILE_VERSION = 1
const CASCADE_ID_LABEL = new TextEncoder().encode('mixgate/v1/cascade')

export interface CascadeHop {
  /** 1 = entry … hops = exit. */
  readonly position: number
  readonly role: 'mix' | 'exit'
  readonly address: HostPort
  readonly linkKey: Uint8Array
  readonly onionKey: Uint8Array
}

export interface Cascade {
  readonly id: Uint8Array
  readonly geometry: Geometry
  readonly roundMs: number
  readonly epoch: number
  readonly hops: readonly CascadeHop[]
}

/** The JSON form of a cascade file: keys in hex. */
export const cascadeFileSpec = obj({
  version: oneOf([CASCADE_FILE_VERSION] as const),
  cellSize: int({ min: 512, max: 32768, default: 2048 }),
  roundMs: int({ min: 1, max: 10_000, default: 10 }),
  epoch: int({ min: 0, default: 0 }),
  hops: arr(obj({
    role: oneOf(['mix', 'exit'] as const),
    address: hostPort(),
    linkKey: hex(32),
    onionKey: hex(32),
  }), { minLength: 1, maxLength: 8 }),
})

/** A cascade file as written to disk (the input form of `cascadeFileSpec`). */
export interface CascadeJson {
  readonly version: typeof CASCADE_FILE_VERSION
  readonly cellSize: number
  readonly roundMs: number
  readonly epoch: number
  readonly hops: ReadonlyArray<{ readonly role: 'mix' | 'exit', readonly address: string, readonly linkKey: string, readonly onionKey: string }>
}

export type CascadeFile = Infer<typeof cascadeFileSpec>

/** Build a cascade from its parts, computing the geometry and the ID. */
export function makeCascade (parts: { cellSize: number, roundMs: number, epoch: number, hops: Omit<CascadeHop, 'position'>[] }): Cascade {
  const geometry = new Geometry({ cellSize: parts.cellSize, hops: parts.hops.length })
  const hops = parts.hops.map((hop, i) => ({ ...hop, position: i + 1 }))
  hops.forEach((hop, i) => {
    const expected = i === hops.length - 1 ? 'exit' : 'mix'
    if (hop.role !== expected) throw new TypeError(`cascade hop ${i + 1} must be ${expected === 'exit' ? 'the exit' : 'a mix'}`)
  })
  return { id: cascadeId(parts.cellSize, parts.roundMs, hops), geometry, roundMs: parts.roundMs, epoch: parts.epoch, hops }
}

export function cascadeId (cellSize: number, roundMs: number, hops: readonly CascadeHop[]): Uint8Array {
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
  return makeCascade({ cellSize: file.cellSize, roundMs: file.roundMs, epoch: file.epoch, hops: file.hops })
}

export function cascadeToJson (cascade: Cascade): CascadeJson {
  const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex')
  return {
    version: CASCADE_FILE_VERSION,
    cellSize: cascade.geometry.cellSize,
    roundMs: cascade.roundMs,
    epoch: cascade.epoch,
    hops: cascade.hops.map((hop) => ({ role: hop.role, address: formatHostPort(hop.address), linkKey: hexOf(hop.linkKey), onionKey: hexOf(hop.onionKey) })),
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
