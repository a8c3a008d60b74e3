/**
 * A hop's signed node descriptor from its config, its identity and its current public onion
 * keys: what `mixgate descriptor` prints and what the admin `/descriptor` serves.
 */
import type { KeyPair } from '../../crypto/index.js'
import { makeNodeDescriptor, unsignedNodeDescriptor, type EpochKey, type NodeDescriptorFields, type NodeDescriptorJson, type UnsignedNodeDescriptor } from '../../directory/descriptor.js'
import type { HostPort } from '../../base/address.js'
import type { CascadeParams } from '../../protocol/cascade-params.js'

export interface DescribedHop {
  readonly role: 'mix' | 'exit'
  readonly address: HostPort
  /** The cascade parameters the hop runs with and signs. */
  readonly params: CascadeParams
}

/** Sign `hop`'s descriptor with `identity`, published at `nowS` (Unix seconds). */
export function describeHop (hop: DescribedHop, identity: KeyPair, linkKey: Uint8Array, epochKeys: readonly EpochKey[], nowS: number): NodeDescriptorJson {
  return makeNodeDescriptor(identity, hopFields(hop, linkKey, epochKeys, nowS))
}

/** `describeHop` for a signer elsewhere (a hop's thread): the descriptor to sign and the message. */
export function describeHopUnsigned (hop: DescribedHop, identityKey: Uint8Array, linkKey: Uint8Array, epochKeys: readonly EpochKey[], nowS: number): UnsignedNodeDescriptor {
  return unsignedNodeDescriptor(identityKey, hopFields(hop, linkKey, epochKeys, nowS))
}

function hopFields (hop: DescribedHop, linkKey: Uint8Array, epochKeys: readonly EpochKey[], nowS: number): NodeDescriptorFields {
  return { role: hop.role, address: hop.address, linkKey, params: hop.params, epochKeys, published: Math.floor(nowS) }
}
