/**
 * A hop's signed node descriptor from its config, its identity and its current public onion
 * keys: what `mixgate descriptor` prints and what the admin `/descriptor` serves.
 */
import type { KeyPair } from '../crypto/index.js'
import { makeNodeDescriptor, type EpochKey, type NodeDescriptorJson } from '../directory/descriptor.js'
import type { HostPort } from '../base/address.js'
import { paramsOfConfig, type HopParamFields } from './hop-params.js'

export interface DescribedHop extends HopParamFields {
  readonly role: 'mix' | 'exit'
  readonly address: HostPort
}

/** Sign `hop`'s descriptor with `identity`, published at `nowS` (Unix seconds). */
export function describeHop (hop: DescribedHop, identity: KeyPair, linkKey: Uint8Array, epochKeys: readonly EpochKey[], nowS: number): NodeDescriptorJson {
  return makeNodeDescriptor(identity, {
    role: hop.role,
    address: hop.address,
    linkKey,
    params: paramsOfConfig(hop),
    epochKeys,
    published: Math.floor(nowS),
  })
}
