/**
 * Node descriptors: what one node publishes about itself, signed with its identity key.
 *
 *   { "type": "node", "version": 1, "role": "mix", "address": "198.51.100.7:9001",
 *     "identityKey": hex32, "linkKey": hex32,
 *     "cellSize": 2048, "roundMs": 10, "epochS": 3600, "genesis": 0,
 *     "shaping": { "profile": "elastic", "rates": [0.2, 1, 2, 8, 32, 64, 128], "slotMs": 2000, … (shaping-json.ts) },
 *     "epochKeys": [{ "epoch": 480000, "onionKey": hex32 }, { "epoch": 480001, "onionKey": hex32 }],
 *     "published": 1728000000, "validUntil": 1728007200, "signature": hex64 }
 *
 * The node signs, besides its address and keys, the cascade parameters it runs with (cell
 * size, round length, epoch schedule, shaping). A cascade descriptor is assembled by someone
 * else from these; because every cascade-level value must equal what each hop signed, no
 * byte of a cascade descriptor goes unsigned, and an entry that serves descriptors can only
 * replay old ones, not edit them (R22).
 *
 * Signature (Ed25519, identity key) over signedMessage("node-descriptor", body), body =
 *
 *   version(1) ‖ role(1: 1 mix, 2 exit) ‖ address(2-byte length ‖ UTF-8)
 *   ‖ identityKey(32) ‖ linkKey(32)
 *   ‖ cellSize(4) ‖ roundMs(4) ‖ epochS(4) ‖ genesis(8) ‖ shaping
 *   shaping = profile(1: 0 off, 1 strict, 2 elastic) ‖ rateCount(1) ‖ rateCount × millicells(4)
 *             ‖ slotMs(4) ‖ circuits(4) ‖ circuitSlots(4) ‖ kMin(4) ‖ createHoldRounds(4)
 *             ‖ loopsPerSlot(4) ‖ loopJitterRounds(4) ‖ clientRate millicells(4)
 *   ‖ published(8) ‖ validUntil(8) ‖ keyCount(1) ‖ keyCount × (epoch(8) ‖ onionKey(32))
 *
 * Times are Unix seconds. The link key is bound to the identity by this signature, with the
 * descriptor's validity window (R11). The onion keys are one or two consecutive epochs, the
 * first being the epoch of `published` or the next one; a verifier at time `now` requires a
 * key for the epoch of `now`.
 */
import { equal, sign, verify, type KeyPair } from '../crypto/index.js'
import { epochAt, epochEndS, epochSchedule } from '../protocol/epoch.js'
import { formatHostPort, parseHostPort, type HostPort } from '../base/address.js'
import { arr, hostPort, int, obj, oneOf, type Infer } from '../base/schema.js'
import { cascadeGeometry, cascadeParamsOf, scheduleOf, type CascadeParams } from '../protocol/cascade-params.js'
import { SHAPING_PROFILES } from '../protocol/shaping.js'
import { shapingProblem } from './shaping-json.js'
import { cascadeParamFields, cascadeParamsToJson, type CascadeParamsJson } from './cascade-params-json.js'
import { DescriptorError, DescriptorErrorCode } from './descriptor-error.js'
import { lowerHex, toHex, validateDescriptor } from './descriptor-json.js'
import { ByteWriter, signedMessage } from './signed-encoding.js'
import { iso } from './unix-time.js'

export { iso } from './unix-time.js'

export const DESCRIPTOR_VERSION = 1
export const NODE_DESCRIPTOR_OBJECT = 'node-descriptor'
/** How far in the future a publication time may be before it is "future-dated". */
export const DEFAULT_MAX_SKEW_S = 60
export const MAX_EPOCH_KEYS = 2

export { SHAPING_PROFILES, type ShapingProfile } from '../protocol/shaping.js'
export type NodeRole = 'mix' | 'exit'

export interface EpochKey {
  readonly epoch: number
  readonly onionKey: Uint8Array
}

/** What `makeNodeDescriptor` signs. */
export interface NodeDescriptorFields {
  readonly role: NodeRole
  readonly address: string | HostPort
  readonly linkKey: Uint8Array
  readonly params: CascadeParams
  readonly epochKeys: readonly EpochKey[]
  /** Unix seconds. */
  readonly published: number
  /** Unix seconds; default: the end of the last onion key's epoch. */
  readonly validUntil?: number
}

/** A node descriptor as JSON (keys in lowercase hex); the parameters sit at the top level. */
export interface NodeDescriptorJson extends CascadeParamsJson {
  readonly type: 'node'
  readonly version: typeof DESCRIPTOR_VERSION
  readonly role: NodeRole
  readonly address: string
  readonly identityKey: string
  readonly linkKey: string
  readonly epochKeys: ReadonlyArray<{ readonly epoch: number, readonly onionKey: string }>
  readonly published: number
  readonly validUntil: number
  readonly signature: string
}

/** A node descriptor whose signature, keys and validity were checked. */
export interface VerifiedNode {
  readonly role: NodeRole
  readonly address: HostPort
  readonly identityKey: Uint8Array
  readonly linkKey: Uint8Array
  readonly params: CascadeParams
  readonly epochKeys: readonly EpochKey[]
  readonly published: number
  readonly validUntil: number
}

export interface NodeCheckOptions {
  /** Unix seconds; default the system clock. */
  readonly now?: number
  /** Refuse the descriptor unless it is signed by exactly this identity key. */
  readonly pinnedIdentity?: Uint8Array
  /** Future publication times tolerated, in seconds (default 60). */
  readonly maxSkewS?: number
}

export const nodeDescriptorSpec = obj({
  type: oneOf(['node'] as const),
  version: oneOf([DESCRIPTOR_VERSION] as const),
  role: oneOf(['mix', 'exit'] as const),
  address: hostPort(),
  identityKey: lowerHex(32),
  linkKey: lowerHex(32),
  ...cascadeParamFields,
  epochKeys: arr(obj({ epoch: int({ min: 0 }), onionKey: lowerHex(32) }), { minLength: 1, maxLength: MAX_EPOCH_KEYS }),
  published: int({ min: 0 }),
  validUntil: int({ min: 0 }),
  signature: lowerHex(64),
})

type ParsedNode = Infer<typeof nodeDescriptorSpec>

/**
 * Sign a node descriptor with the node's Ed25519 identity key pair. Throws
 * `DescriptorError` if the fields would not verify (bad address, keys out of order…).
 */
export function makeNodeDescriptor (identity: KeyPair, fields: NodeDescriptorFields): NodeDescriptorJson {
  const { unsigned, message } = unsignedNodeDescriptor(identity.publicKey, fields)
  return signedNodeDescriptor(unsigned, sign(identity.secretKey, message))
}

/** A node descriptor checked and ready to sign: its JSON but the signature, and the bytes its identity key signs. */
export interface UnsignedNodeDescriptor {
  readonly unsigned: Omit<NodeDescriptorJson, 'signature'>
  readonly message: Uint8Array
}

/**
 * `makeNodeDescriptor` in two steps, for a signer elsewhere (a hop's thread under `mixgate
 * up` keeps its secret key; it signs the message it is given). Throws as makeNodeDescriptor.
 */
export function unsignedNodeDescriptor (identityKey: Uint8Array, fields: NodeDescriptorFields): UnsignedNodeDescriptor {
  const schedule = scheduleOf(fields.params)
  const epochKeys = [...fields.epochKeys].sort((a, b) => a.epoch - b.epoch)
  const last = epochKeys[epochKeys.length - 1]
  const unsigned: Omit<NodeDescriptorJson, 'signature'> = {
    type: 'node',
    version: DESCRIPTOR_VERSION,
    role: fields.role,
    address: typeof fields.address === 'string' ? fields.address : formatHostPort(fields.address),
    identityKey: toHex(identityKey),
    linkKey: toHex(fields.linkKey),
    ...cascadeParamsToJson(fields.params),
    epochKeys: epochKeys.map((k) => ({ epoch: k.epoch, onionKey: toHex(k.onionKey) })),
    published: fields.published,
    validUntil: fields.validUntil ?? (last === undefined ? fields.published : epochEndS(schedule, last.epoch)),
  }
  // Validate through the same path a verifier takes, with a placeholder signature.
  const parsed = parseNode({ ...unsigned, signature: '00'.repeat(64) }, {})
  checkNodeKeys(parsed, {})
  return { unsigned, message: nodeSignedMessage(parsed) }
}

/** The descriptor with its signature over `unsignedNodeDescriptor`'s message. */
export function signedNodeDescriptor (unsigned: UnsignedNodeDescriptor['unsigned'], signature: Uint8Array): NodeDescriptorJson {
  return { ...unsigned, signature: toHex(signature) }
}

/**
 * Check a node descriptor: shape, signature, pinned identity, onion-key epochs, and that it
 * is valid at `now` with a key for the current epoch. Throws `DescriptorError`.
 */
export function verifyNodeDescriptor (json: unknown, options: NodeCheckOptions = {}): VerifiedNode {
  const node = readNodeDescriptor(json, { pinnedIdentity: options.pinnedIdentity })
  checkNodeAt(node, nowOf(options), options.maxSkewS ?? DEFAULT_MAX_SKEW_S, {})
  return node
}

/** Where a node descriptor sits, for messages: the JSON path prefix and the hop number. */
export interface NodeContext {
  readonly prefix?: string
  readonly hop?: number
}

/**
 * The time-independent checks (shape, signature, pin, key epochs), shared with the cascade
 * verifier, which then checks time once for all hops.
 */
export function readNodeDescriptor (json: unknown, options: { pinnedIdentity?: Uint8Array | undefined } & NodeContext = {}): VerifiedNode {
  const context: NodeContext = { prefix: options.prefix, hop: options.hop }
  const parsed = parseNode(json, context)
  if (!verify(parsed.identityKey, nodeSignedMessage(parsed), parsed.signature)) {
    throw new DescriptorError(DescriptorErrorCode.BAD_SIGNATURE, `${who(context)}: the signature does not verify (the descriptor was changed or not signed by its identity key)`, {
      field: field(context, 'signature'), ...hopOf(context),
    })
  }
  if (options.pinnedIdentity !== undefined && !equal(options.pinnedIdentity, parsed.identityKey)) {
    throw new DescriptorError(DescriptorErrorCode.IDENTITY_MISMATCH, `${who(context)}: signed by identity key ${short(parsed.identityKey)}…, not the pinned ${short(options.pinnedIdentity)}…`, {
      field: field(context, 'identityKey'), ...hopOf(context),
    })
  }
  checkNodeKeys(parsed, context)
  const shapingWrong = shapingProblem(parsed.shaping, parsed.roundMs)
  if (shapingWrong !== undefined) {
    throw new DescriptorError(DescriptorErrorCode.MALFORMED, `${who(context)}: ${shapingWrong}`, { field: field(context, 'shaping'), ...hopOf(context) })
  }
  return {
    role: parsed.role,
    address: parsed.address,
    identityKey: parsed.identityKey,
    linkKey: parsed.linkKey,
    params: cascadeParamsOf(parsed),
    epochKeys: parsed.epochKeys,
    published: parsed.published,
    validUntil: parsed.validUntil,
  }
}

/** Valid at `now`: published (within the skew), not expired, with a key for the current epoch. */
export function checkNodeAt (node: VerifiedNode, now: number, maxSkewS: number, context: NodeContext): void {
  if (node.published > now + maxSkewS) {
    throw new DescriptorError(DescriptorErrorCode.NOT_YET_VALID, `${who(context)}: published at ${iso(node.published)}, in the future (is this clock right?)`, {
      field: field(context, 'published'), ...hopOf(context),
    })
  }
  if (now >= node.validUntil) {
    throw new DescriptorError(DescriptorErrorCode.EXPIRED, `${who(context)}: expired at ${iso(node.validUntil)}`, {
      field: field(context, 'validUntil'), ...hopOf(context),
    })
  }
  const schedule = scheduleOf(node.params)
  const current = epochAt(schedule, Math.max(now, schedule.genesisS))
  const first = node.epochKeys[0]!.epoch
  const last = node.epochKeys[node.epochKeys.length - 1]!.epoch
  if (last < current) {
    throw new DescriptorError(DescriptorErrorCode.EPOCH_KEY_EXPIRED, `${who(context)}: its newest onion key is for epoch ${last}, but the current epoch is ${current}`, {
      field: field(context, 'epochKeys'), ...hopOf(context),
    })
  }
  if (first > current) {
    throw new DescriptorError(DescriptorErrorCode.NOT_YET_VALID, `${who(context)}: its onion keys start at epoch ${first}, but the current epoch is ${current} (is this clock right?)`, {
      field: field(context, 'epochKeys'), ...hopOf(context),
    })
  }
}

/** The onion key `node` published for `epoch`, if any. */
export function onionKeyOf (node: VerifiedNode, epoch: number): Uint8Array | undefined {
  return node.epochKeys.find((k) => k.epoch === epoch)?.onionKey
}

/** The current and next epochs' public onion keys at `nowS` (what a node publishes). */
export function publishedEpochKeys (source: { publicKey: (epoch: number) => Uint8Array }, params: CascadeParams, nowS: number): EpochKey[] {
  const current = epochAt(scheduleOf(params), nowS)
  return [current, current + 1].map((epoch) => ({ epoch, onionKey: source.publicKey(epoch) }))
}

/** Append the parameter fields to a canonical body (node descriptor and cascade core). */
export function writeParams (writer: ByteWriter, params: CascadeParams): ByteWriter {
  const shaping = params.shaping
  writer.u32(params.cellSize).u32(params.roundMs).u32(params.epochS).u64(params.genesis)
    .u8(SHAPING_PROFILES.indexOf(shaping.profile)).u8(shaping.ratesMilli.length)
  for (const rate of shaping.ratesMilli) writer.u32(rate)
  return writer.u32(shaping.slotMs).u32(shaping.circuits).u32(shaping.circuitSlots).u32(shaping.kMin)
    .u32(shaping.createHoldRounds).u32(shaping.loopsPerSlot).u32(shaping.loopJitterRounds)
    .u32(shaping.clientRateMilli)
}

/** The role byte of signed bodies. */
export function roleByte (role: NodeRole): number {
  return role === 'mix' ? 1 : 2
}

/** The exact bytes a node's identity key signs. */
export function nodeSignedMessage (d: Omit<ParsedNode, 'signature'>): Uint8Array {
  const body = new ByteWriter()
    .u8(d.version)
    .u8(roleByte(d.role))
    .str(formatHostPort(d.address))
    .raw(d.identityKey)
    .raw(d.linkKey)
  writeParams(body, d)
    .u64(d.published)
    .u64(d.validUntil)
    .u8(d.epochKeys.length)
  for (const key of d.epochKeys) body.u64(key.epoch).raw(key.onionKey)
  return signedMessage(NODE_DESCRIPTOR_OBJECT, body.bytes())
}


/** The first 8 hex digits of a public key, for messages. */
export function short (key: Uint8Array): string {
  return toHex(key.subarray(0, 4))
}

function parseNode (json: unknown, context: NodeContext): ParsedNode {
  const parsed = validateDescriptor(nodeDescriptorSpec, json, who(context), { prefix: context.prefix, hop: context.hop })
  // The address is signed as text: it must read back exactly as written.
  const text = (json as { address: string }).address
  if (formatHostPort(parseHostPort(text)) !== text) {
    throw new DescriptorError(DescriptorErrorCode.MALFORMED, `${who(context)}: the address is not in canonical HOST:PORT form`, { field: field(context, 'address'), ...hopOf(context) })
  }
  try {
    void cascadeGeometry(parsed, 1)
  } catch (err) {
    throw new DescriptorError(DescriptorErrorCode.MALFORMED, `${who(context)}: ${(err as Error).message}`, { field: field(context, 'cellSize'), ...hopOf(context), cause: err })
  }
  if (parsed.validUntil <= parsed.published) {
    throw new DescriptorError(DescriptorErrorCode.MALFORMED, `${who(context)}: validUntil must be later than published`, { field: field(context, 'validUntil'), ...hopOf(context) })
  }
  return parsed
}

/** Onion keys: consecutive epochs, in order, starting at the epoch of `published` or the next. */
function checkNodeKeys (d: Pick<ParsedNode, 'epochKeys' | 'published' | 'epochS' | 'genesis'>, context: NodeContext): void {
  const bad = (why: string): DescriptorError =>
    new DescriptorError(DescriptorErrorCode.BAD_EPOCH_KEYS, `${who(context)}: ${why}`, { field: field(context, 'epochKeys'), ...hopOf(context) })
  const schedule = epochSchedule({ epochS: d.epochS, genesisS: d.genesis })
  if (d.epochKeys.length === 0) throw bad('it lists no onion keys')
  if (d.published < schedule.genesisS) throw bad('it was published before the epoch schedule\'s genesis')
  for (let i = 1; i < d.epochKeys.length; i++) {
    if (d.epochKeys[i]!.epoch !== d.epochKeys[i - 1]!.epoch + 1) throw bad('its onion keys are not for consecutive epochs in increasing order')
  }
  const publishedIn = epochAt(schedule, d.published)
  const first = d.epochKeys[0]!.epoch
  if (first !== publishedIn && first !== publishedIn + 1) {
    throw bad(`its first onion key is for epoch ${first}, but it was published in epoch ${publishedIn}`)
  }
}

function nowOf (options: { now?: number }): number {
  return options.now ?? Date.now() / 1000
}

function who (context: NodeContext): string {
  return context.hop === undefined ? 'node descriptor' : `hop ${context.hop}`
}

function field (context: NodeContext, name: string): string {
  return context.prefix === undefined || context.prefix === '' ? name : `${context.prefix}.${name}`
}

function hopOf (context: NodeContext): { hop?: number } {
  return context.hop === undefined ? {} : { hop: context.hop }
}
