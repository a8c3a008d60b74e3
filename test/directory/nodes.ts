/**
 * Test nodes with real keys, and the descriptors they sign, at a chosen time.
 */
import { ed25519KeyPair, x25519KeyPair, type KeyPair } from '../../src/crypto/index.js'
import { makeNodeDescriptor, type CascadeParams, type EpochKey, type NodeDescriptorFields, type NodeDescriptorJson } from '../../src/directory/descriptor.js'
import { epochAt, epochStartS, epochSchedule } from '../../src/protocol/epoch.js'
import { onionKeyPair, ratchetSeed } from '../../src/node/keys/ratchet.js'
import { labelled } from '../node/keys/ratchet-vectors.js'
import { DEFAULT_SHAPING } from '../../src/protocol/shaping.js'

export const PARAMS: CascadeParams = { cellSize: 2048, roundMs: 10, epochS: 3600, genesis: 1_700_000_000, shaping: DEFAULT_SHAPING.off }
export const schedule = epochSchedule({ epochS: PARAMS.epochS, genesisS: PARAMS.genesis })
/** Ten minutes into epoch 100. */
export const NOW = epochStartS(schedule, 100) + 600

export interface TestNode {
  readonly identity: KeyPair
  readonly link: KeyPair
  readonly seed: Uint8Array
  readonly address: string
  onionKey: (epoch: number) => Uint8Array
  describe: (overrides?: Partial<NodeDescriptorFields> & { at?: number }) => NodeDescriptorJson
}

/** Node `n` (deterministic keys, address 127.0.0.1:9000+n), in `role`. */
export function testNode (n: number, role: 'mix' | 'exit'): TestNode {
  const seed = labelled(`node ${n} onion seed epoch 0`)
  const node: TestNode = {
    identity: ed25519KeyPair(labelled(`node ${n} identity`)),
    link: x25519KeyPair(labelled(`node ${n} link`)),
    seed,
    address: `127.0.0.1:${9000 + n}`,
    onionKey: (epoch) => onionKeyPair(ratchetSeed(seed, epoch)).publicKey,
    describe: ({ at = NOW, ...overrides } = {}) => {
      const current = epochAt(schedule, at)
      const epochKeys: EpochKey[] = [current, current + 1].map((epoch) => ({ epoch, onionKey: node.onionKey(epoch) }))
      return makeNodeDescriptor(node.identity, { role, address: node.address, linkKey: node.link.publicKey, params: PARAMS, epochKeys, published: at, ...overrides })
    },
  }
  return node
}

/** `mixes` mixes then one exit. */
export function testCascade (mixes = 3): TestNode[] {
  return [...Array.from({ length: mixes }, (_, i) => testNode(i + 1, 'mix')), testNode(mixes + 1, 'exit')]
}

/**
 * One-byte changes of `text` at every position: XOR with 0x01 (a neighbouring character),
 * 0x20 (letter case; digits become control characters) and 0x80 (invalid UTF-8). With
 * `all: false`, one of the three per position, in turn (a third of the work).
 */
export function * oneByteChanges (text: string, options: { all?: boolean } = {}): Generator<{ position: number, bytes: Uint8Array }> {
  const original = new TextEncoder().encode(text)
  const deltas = [1, 0x20, 0x80]
  for (let position = 0; position < original.length; position++) {
    for (const delta of options.all === false ? [deltas[position % 3]!] : deltas) {
      const bytes = Uint8Array.from(original)
      bytes[position] = bytes[position]! ^ delta
      yield { position, bytes }
    }
  }
}
