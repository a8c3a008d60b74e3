/**
 * The signed cascade descriptor (`cascade.json`): the ordered node descriptors of one
 * cascade, plus the parameters they all signed (DESIGN "Operations", R11, R22).
 *
 *   { "type": "cascade", "version": 1,
 *     "cellSize": 2048, "roundMs": 10, "epochS": 3600, "genesis": 0, "shaping": { "profile": "off" },
 *     "validFrom": 1728000000, "validUntil": 1728007200,
 *     "hops": [ node descriptor, …, node descriptor of the exit ] }
 *
 * Nothing at the cascade level is trusted on its own: the parameters must equal what every
 * hop signed, `validFrom` must be the latest hop's `published` and `validUntil` the earliest
 * hop's `validUntil`. So changing any byte of the file is refused, and whoever serves it (the
 * entry mix, a directory) can at most replay an older one, which the time and epoch checks
 * and `lastSeenEpoch` refuse.
 *
 * The cascade ID names what does not rotate (onion keys and validity are left out):
 *
 *   cascadeId = BLAKE2b-256(signedMessage("cascade-core", version(1) ‖ cellSize(4) ‖ roundMs(4)
 *               ‖ epochS(4) ‖ genesis(8) ‖ shaping(1) ‖ hops(1)
 *               ‖ per hop: position(1) ‖ role(1) ‖ identityKey(32) ‖ linkKey(32) ‖ address(2 ‖ UTF-8)))
 *
 * It goes into every Noise prologue and every per-hop key derivation, so hops and clients
 * holding different cascades fail closed. It differs from `cascadeId()` of the unsigned
 * cascade file (cascade.ts), which binds no identity keys; `Cascade.id` of a verified
 * descriptor is this one.
 */
import { blake2b, equal } from '../crypto/index.js'
import { formatHostPort } from '../base/address.js'
import { epochAt } from '../protocol/epoch.js'
import { anyValue, arr, int, obj, oneOf, type Spec } from '../base/schema.js'
import { Geometry, MAX_HOPS } from '../protocol/geometry.js'
import { makeCascade, type Cascade } from './cascade.js'
import {
  checkNodeAt, DEFAULT_MAX_SKEW_S, DESCRIPTOR_VERSION, iso, onionKeyOf, paramFields, paramsJson, paramsOf, readNodeDescriptor,
  roleByte, scheduleOf, short, writeParams, type CascadeParams, type NodeDescriptorJson, type VerifiedNode,
} from './descriptor.js'
import { sameShaping, type ShapingJson } from './shaping-json.js'
import { DescriptorError, DescriptorErrorCode } from './descriptor-error.js'
import { toHex, validateDescriptor } from './descriptor-json.js'
import { ByteWriter, signedMessage } from './signed-encoding.js'

export const CASCADE_CORE_OBJECT = 'cascade-core'

export interface CascadeDescriptorJson {
  readonly type: 'cascade'
  readonly version: typeof DESCRIPTOR_VERSION
  readonly cellSize: number
  readonly roundMs: number
  readonly epochS: number
  readonly genesis: number
  readonly shaping: ShapingJson
  readonly validFrom: number
  readonly validUntil: number
  readonly hops: readonly NodeDescriptorJson[]
}

export interface CascadeCheckOptions {
  /** Unix seconds; default the system clock. */
  readonly now?: number
  /** Identity keys the hops must have, in hop order (all of them, or none). */
  readonly pinnedIdentities?: readonly Uint8Array[]
  /**
   * `newestEpoch` of the last descriptor this client accepted: a descriptor whose newest
   * epoch is older is a rollback (R22) and refused.
   */
  readonly lastSeenEpoch?: number
  /** Future publication times tolerated, in seconds (default 60). */
  readonly maxSkewS?: number
}

/** A cascade descriptor that passed every check. */
export interface VerifiedCascade {
  /** The cascade for the epoch current at the `now` it was checked at. */
  readonly cascade: Cascade
  /** The cascade ID (see the top of this file); also `cascade.id`. */
  readonly id: Uint8Array
  readonly params: CascadeParams
  readonly validFrom: number
  readonly validUntil: number
  /** Epochs every hop has an onion key for, in order (one or two). */
  readonly epochs: readonly number[]
  /** The last of `epochs`: remember it and pass it as `lastSeenEpoch` next time. */
  readonly newestEpoch: number
  readonly nodes: readonly VerifiedNode[]
  /** Hop `position`'s (1-based) onion key for `epoch`, if it published one. */
  onionKey: (position: number, epoch: number) => Uint8Array | undefined
  /** The cascade for another epoch in `epochs` (the next one, before the boundary). */
  cascadeAt: (epoch: number) => Cascade
  /** A few lines for `mixgate cascade verify` to print. */
  readonly summary: string
}

const cascadeShape = obj({
  type: oneOf(['cascade'] as const),
  version: oneOf([DESCRIPTOR_VERSION] as const),
  ...paramFields,
  validFrom: int({ min: 0 }),
  validUntil: int({ min: 0 }),
  hops: arr(passThrough(), { minLength: 1, maxLength: MAX_HOPS }),
})

/**
 * Assemble a cascade descriptor from node descriptors in hop order (mixes, then the exit).
 * Every node descriptor is verified at `now` first, so a bad one is named here rather than
 * by every client. `params`, if given, must match what the nodes signed.
 */
export function createCascadeDescriptor (nodes: readonly unknown[], options: { now?: number, params?: Partial<CascadeParams>, pinnedIdentities?: readonly Uint8Array[] } = {}): CascadeDescriptorJson {
  if (nodes.length < 1 || nodes.length > MAX_HOPS) {
    throw new DescriptorError(DescriptorErrorCode.MALFORMED, `a cascade has 1 to ${MAX_HOPS} hops, got ${nodes.length}`, { field: 'hops' })
  }
  const verified = nodes.map((json, i) => readNodeDescriptor(json, { prefix: `hops[${i}]`, hop: i + 1, pinnedIdentity: options.pinnedIdentities?.[i] }))
  const params = verified[0]!.params
  const wanted = options.params ?? {}
  for (const name of ['cellSize', 'roundMs', 'epochS', 'genesis'] as const) {
    const value = wanted[name]
    if (value !== undefined && value !== params[name]) {
      throw new DescriptorError(DescriptorErrorCode.PARAMS_MISMATCH, `hop 1 signed ${name} ${params[name]}, not ${value}`, { field: `hops[0].${name}`, hop: 1 })
    }
  }
  if (wanted.shaping !== undefined && !sameShaping(wanted.shaping, params.shaping)) {
    throw new DescriptorError(DescriptorErrorCode.PARAMS_MISMATCH, `hop 1 signed other shaping parameters (${describeShaping(params.shaping)}) than wanted (${describeShaping(wanted.shaping)})`, { field: 'hops[0].shaping', hop: 1 })
  }
  const descriptor: CascadeDescriptorJson = {
    type: 'cascade',
    version: DESCRIPTOR_VERSION,
    ...paramsJson(params),
    validFrom: Math.max(...verified.map((n) => n.published)),
    validUntil: Math.min(...verified.map((n) => n.validUntil)),
    hops: nodes as NodeDescriptorJson[],
  }
  // Run every check a client will run, so a cascade that would be refused is never written.
  verifyCascadeDescriptor(descriptor, { now: options.now, pinnedIdentities: options.pinnedIdentities })
  return descriptor
}

/**
 * Check a cascade descriptor completely (shape, every signature, pins, roles, parameters,
 * geometry, validity at `now`, onion keys for the current epoch, rollback) and return the
 * cascade. Throws `DescriptorError` naming the hop and field at fault.
 */
export function verifyCascadeDescriptor (json: unknown, options: CascadeCheckOptions = {}): VerifiedCascade {
  const now = options.now ?? Date.now() / 1000
  const maxSkewS = options.maxSkewS ?? DEFAULT_MAX_SKEW_S
  const shape = validateDescriptor(cascadeShape, json, 'cascade descriptor')
  const params = paramsOf(shape)
  const pins = options.pinnedIdentities
  if (pins !== undefined && pins.length !== shape.hops.length) {
    throw new DescriptorError(DescriptorErrorCode.IDENTITY_MISMATCH, `the cascade has ${shape.hops.length} hops but ${pins.length} identity keys are pinned`, { field: 'hops' })
  }
  try {
    void new Geometry({ cellSize: shape.cellSize, hops: shape.hops.length })
  } catch (err) {
    throw new DescriptorError(DescriptorErrorCode.MALFORMED, `cascade descriptor: ${(err as Error).message}`, { field: 'cellSize', cause: err })
  }

  const nodes = shape.hops.map((hop, i) => readNodeDescriptor(hop, { prefix: `hops[${i}]`, hop: i + 1, pinnedIdentity: pins?.[i] }))
  checkOrder(nodes)
  checkDistinct(nodes)
  nodes.forEach((node, i) => checkParams(node, params, i))
  checkValidity(shape, nodes)

  if (shape.validFrom > now + maxSkewS) {
    throw new DescriptorError(DescriptorErrorCode.NOT_YET_VALID, `cascade descriptor: valid from ${iso(shape.validFrom)}, in the future (is this clock right?)`, { field: 'validFrom' })
  }
  if (now >= shape.validUntil) {
    throw new DescriptorError(DescriptorErrorCode.EXPIRED, `cascade descriptor: expired at ${iso(shape.validUntil)}`, { field: 'validUntil' })
  }
  nodes.forEach((node, i) => checkNodeAt(node, now, maxSkewS, { prefix: `hops[${i}]`, hop: i + 1 }))

  const epochs = commonEpochs(nodes)
  const newestEpoch = epochs[epochs.length - 1]!
  if (options.lastSeenEpoch !== undefined && newestEpoch < options.lastSeenEpoch) {
    throw new DescriptorError(DescriptorErrorCode.ROLLBACK, `cascade descriptor: its newest onion keys are for epoch ${newestEpoch}, older than epoch ${options.lastSeenEpoch} already seen (an old descriptor replayed?)`, { field: 'hops' })
  }

  const id = cascadeCoreId(params, nodes)
  const schedule = scheduleOf(params)
  const current = epochAt(schedule, Math.max(now, schedule.genesisS))
  const cascadeAt = (epoch: number): Cascade => {
    if (!epochs.includes(epoch)) throw new DescriptorError(DescriptorErrorCode.EPOCH_KEY_EXPIRED, `the cascade descriptor has no onion keys for epoch ${epoch}`)
    const cascade = makeCascade({
      cellSize: params.cellSize,
      roundMs: params.roundMs,
      epochS: params.epochS,
      genesis: params.genesis,
      epoch,
      hops: nodes.map((node) => ({ role: node.role, address: node.address, linkKey: node.linkKey, onionKey: onionKeyOf(node, epoch)! })),
    })
    return { ...cascade, id }
  }
  return {
    cascade: cascadeAt(current),
    id,
    params,
    validFrom: shape.validFrom,
    validUntil: shape.validUntil,
    epochs,
    newestEpoch,
    nodes,
    onionKey: (position, epoch) => {
      const node = nodes[position - 1]
      return node === undefined ? undefined : onionKeyOf(node, epoch)
    },
    cascadeAt,
    summary: summarize(id, params, shape, nodes, epochs, current),
  }
}

/** The cascade ID of `nodes` (in hop order) under `params` (formula at the top of this file). */
export function cascadeCoreId (params: CascadeParams, nodes: readonly Pick<VerifiedNode, 'role' | 'address' | 'identityKey' | 'linkKey'>[]): Uint8Array {
  const body = new ByteWriter().u8(DESCRIPTOR_VERSION)
  writeParams(body, params).u8(nodes.length)
  nodes.forEach((node, i) => {
    body.u8(i + 1).u8(roleByte(node.role)).raw(node.identityKey).raw(node.linkKey).str(formatHostPort(node.address))
  })
  return blake2b(32, signedMessage(CASCADE_CORE_OBJECT, body.bytes()))
}

function checkOrder (nodes: readonly VerifiedNode[]): void {
  nodes.forEach((node, i) => {
    const last = i === nodes.length - 1
    if (last && node.role !== 'exit') {
      throw new DescriptorError(DescriptorErrorCode.BAD_ORDER, `hop ${i + 1} is the last hop and must be the exit, but it is a mix`, { field: `hops[${i}].role`, hop: i + 1 })
    }
    if (!last && node.role !== 'mix') {
      throw new DescriptorError(DescriptorErrorCode.BAD_ORDER, `hop ${i + 1} is an exit, but only the last hop may be one`, { field: `hops[${i}].role`, hop: i + 1 })
    }
  })
}

/** One node twice would make one operator two of the hops "at least one honest mix" counts. */
function checkDistinct (nodes: readonly VerifiedNode[]): void {
  for (let i = 0; i < nodes.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = nodes[j]!
      const b = nodes[i]!
      const same = equal(a.identityKey, b.identityKey) ? 'identity key'
        : equal(a.linkKey, b.linkKey) ? 'link key'
          : formatHostPort(a.address) === formatHostPort(b.address) ? 'address' : undefined
      if (same !== undefined) {
        throw new DescriptorError(DescriptorErrorCode.DUPLICATE_NODE, `hops ${j + 1} and ${i + 1} have the same ${same}`, { field: `hops[${i}]`, hop: i + 1 })
      }
    }
  }
}

function checkParams (node: VerifiedNode, params: CascadeParams, i: number): void {
  for (const name of ['cellSize', 'roundMs', 'epochS', 'genesis'] as const) {
    if (node.params[name] !== params[name]) {
      throw new DescriptorError(DescriptorErrorCode.PARAMS_MISMATCH, `hop ${i + 1} signed ${name} ${node.params[name]}, but the cascade says ${params[name]}`, { field: `hops[${i}].${name}`, hop: i + 1 })
    }
  }
  if (!sameShaping(node.params.shaping, params.shaping)) {
    throw new DescriptorError(DescriptorErrorCode.PARAMS_MISMATCH, `hop ${i + 1} signed shaping ${describeShaping(node.params.shaping)}, but the cascade says ${describeShaping(params.shaping)}`, { field: `hops[${i}].shaping`, hop: i + 1 })
  }
}

/** validFrom/validUntil are not signed by anyone: they must be exactly what the hops signed. */
function checkValidity (shape: { validFrom: number, validUntil: number }, nodes: readonly VerifiedNode[]): void {
  const from = Math.max(...nodes.map((n) => n.published))
  const until = Math.min(...nodes.map((n) => n.validUntil))
  if (shape.validFrom !== from) {
    throw new DescriptorError(DescriptorErrorCode.MALFORMED, `cascade descriptor: validFrom must be the latest hop's published time, ${from}, got ${shape.validFrom}`, { field: 'validFrom' })
  }
  if (shape.validUntil !== until) {
    throw new DescriptorError(DescriptorErrorCode.MALFORMED, `cascade descriptor: validUntil must be the earliest hop's validUntil, ${until}, got ${shape.validUntil}`, { field: 'validUntil' })
  }
}

/** Epochs every hop published a key for (non-empty: each covers the current epoch). */
function commonEpochs (nodes: readonly VerifiedNode[]): number[] {
  const first = nodes[0]!.epochKeys.map((k) => k.epoch)
  return first.filter((epoch) => nodes.every((node) => onionKeyOf(node, epoch) !== undefined))
}

/** `elastic 0.1/1/4/16 cells per round, slots of 10 s, 3 circuits of 60 slots` */
function describeShaping (shaping: CascadeParams['shaping']): string {
  if (shaping.profile === 'off') return 'off'
  const rates = shaping.ratesMilli.map((milli) => milli / 1000).join('/')
  return `${shaping.profile} ${rates} cells per round, slots of ${shaping.slotMs / 1000} s, ${shaping.circuits} circuits of ${shaping.circuitSlots} slots, kMin ${shaping.kMin}`
}

function summarize (id: Uint8Array, params: CascadeParams, shape: { validFrom: number, validUntil: number }, nodes: readonly VerifiedNode[], epochs: readonly number[], current: number): string {
  const mixes = nodes.length - 1
  const lines = [
    `cascade ${toHex(id)}`,
    `  ${mixes} mix${mixes === 1 ? '' : 'es'} + exit, cell ${params.cellSize} B, round ${params.roundMs} ms, shaping ${describeShaping(params.shaping)}`,
    `  valid ${iso(shape.validFrom)} to ${iso(shape.validUntil)}`,
    `  epochs of ${params.epochS} s from ${iso(params.genesis)}; onion keys for epoch${epochs.length === 1 ? '' : 's'} ${epochs.join(', ')} (current ${current})`,
    ...nodes.map((node, i) => `  ${i + 1}. ${node.role.padEnd(4)} ${formatHostPort(node.address)}  identity ${toHex(node.identityKey)}  link ${short(node.linkKey)}…`),
  ]
  return lines.join('\n')
}

/** Accepts any value: each hop is validated separately, with its own path and hop number. */
function passThrough (): Spec<unknown> {
  return anyValue()
}
