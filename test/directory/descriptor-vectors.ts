/**
 * Descriptor test vectors: a node descriptor signed with a fixed identity seed over fixed
 * fields (the exact signed message, the Ed25519 signature, the JSON), and the cascade ID of
 * a fixed two-hop cascade. test/fixtures/vectors/descriptor.json holds the committed bytes;
 * descriptor.test.ts recomputes them. Formats: docs/KEYS.md "Descriptors".
 */
import { ed25519KeyPair, x25519KeyPair } from '../../src/crypto/index.js'
import { makeNodeDescriptor, nodeDescriptorSpec, nodeSignedMessage, type CascadeParams } from '../../src/directory/descriptor.js'
import { cascadeCoreId } from '../../src/directory/signed-cascade.js'
import { parseHostPort } from '../../src/base/address.js'
import { validate } from '../../src/base/schema.js'
import { onionKeyPair, ratchetSeed } from '../../src/node/keys/ratchet.js'
import { hex, labelled } from '../node/keys/ratchet-vectors.js'
import { DEFAULT_SHAPING } from '../../src/protocol/shaping.js'

export const VECTOR_PARAMS: CascadeParams = { cellSize: 2048, roundMs: 10, epochS: 3600, genesis: 1_700_000_000, shaping: DEFAULT_SHAPING.elastic }

export function descriptorVectors (): Record<string, unknown> {
  const identitySeed = labelled('descriptor identity')
  const identity = ed25519KeyPair(identitySeed)
  const link = x25519KeyPair(labelled('descriptor link'))
  const onionSeed = labelled('descriptor onion seed 10')
  const epochKeys = [10, 11].map((epoch) => ({ epoch, onionKey: onionKeyPair(ratchetSeed(onionSeed, epoch - 10)).publicKey }))
  const published = VECTOR_PARAMS.genesis + 10 * 3600 + 600
  const node = makeNodeDescriptor(identity, { role: 'mix', address: '198.51.100.7:9001', linkKey: link.publicKey, params: VECTOR_PARAMS, epochKeys, published })
  const message = nodeSignedMessage(validate(nodeDescriptorSpec, node))

  const exit = { role: 'exit' as const, address: parseHostPort('[2001:db8::1]:9002'), identityKey: ed25519KeyPair(labelled('descriptor exit identity')).publicKey, linkKey: x25519KeyPair(labelled('descriptor exit link')).publicKey }
  const mix = { role: 'mix' as const, address: parseHostPort('198.51.100.7:9001'), identityKey: identity.publicKey, linkKey: link.publicKey }
  return {
    description: 'node descriptor signature and cascade ID (docs/KEYS.md "Descriptors"); message = the exact bytes signed',
    node: {
      input: { identitySeed: hex(identitySeed), linkSecretKey: hex(link.secretKey), onionSeed10: hex(onionSeed), params: VECTOR_PARAMS, address: '198.51.100.7:9001', role: 'mix', published },
      message: hex(message),
      signature: node.signature,
      descriptor: node,
    },
    cascadeId: {
      input: { params: VECTOR_PARAMS, hops: [mix, exit].map((h) => ({ role: h.role, address: h.address, identityKey: hex(h.identityKey), linkKey: hex(h.linkKey) })) },
      id: hex(cascadeCoreId(VECTOR_PARAMS, [mix, exit])),
    },
  }
}
