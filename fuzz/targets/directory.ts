/**
 * Targets in src/directory: signed node descriptors, signed cascade descriptors (what a client
 * reads from a file or from the entry's /cascade) and the plain cascade file JSON.
 *
 * Byte and structure mutations alone stop at the signature check. Half the descriptor inputs
 * are therefore re-signed after mutation (the fuzzer holds every hop's identity key), so
 * the checks behind the signature — epochs, roles, parameters, shaping — see fuzzed values too.
 */
import { ed25519KeyPair, sign, x25519KeyPair, type KeyPair } from '../../src/crypto/index.js'
import { makeCascade } from '../../src/directory/cascade.js'
import { cascadeFromJson, cascadeToJson } from '../../src/directory/cascade-json.js'
import { DescriptorError } from '../../src/directory/descriptor-error.js'
import { parseDescriptorBytes, toHex } from '../../src/directory/descriptor-json.js'
import { makeNodeDescriptor, nodeDescriptorSpec, nodeSignedMessage, verifyNodeDescriptor } from '../../src/directory/descriptor.js'
import type { CascadeParams } from '../../src/protocol/cascade-params.js'
import { createCascadeDescriptor, verifyCascadeDescriptor } from '../../src/directory/signed-cascade.js'
import { ConfigError } from '../../src/base/config-error.js'
import { validate } from '../../src/base/schema.js'
import { ProtocolError } from '../../src/protocol/errors.js'
import { DEFAULT_SHAPING } from '../../src/protocol/shaping.js'
import { mutateJson } from '../mutate.js'
import type { Prng } from '../prng.js'
import { invariant, type FuzzTarget, type TargetSpec } from '../target.js'

const PARAMS: CascadeParams = { cellSize: 2048, roundMs: 10, epochS: 3600, genesis: 1_700_000_000, shaping: DEFAULT_SHAPING.elastic }
/** Descriptors are published at this fixed time and checked a minute later: runs do not depend on the clock. */
const PUBLISHED = PARAMS.genesis + 1000 * 3600 + 600
const NOW = PUBLISHED + 60
const decoder = new TextDecoder()
const encoder = new TextEncoder()

interface Signers { readonly byIdentity: Map<string, KeyPair> }

function nodeDescriptors (rng: Prng, count: number, signers: Signers): object[] {
  return Array.from({ length: count }, (_, i) => {
    const identity = ed25519KeyPair(rng.bytes(32))
    signers.byIdentity.set(toHex(identity.publicKey), identity)
    const epoch = 1000
    return makeNodeDescriptor(identity, {
      role: i === count - 1 ? 'exit' : 'mix',
      address: i % 2 === 0 ? `127.0.0.1:${9001 + i}` : `[::1]:${9001 + i}`,
      linkKey: x25519KeyPair(rng.bytes(32)).publicKey,
      params: PARAMS,
      epochKeys: [epoch, epoch + 1].map((e) => ({ epoch: e, onionKey: x25519KeyPair(rng.bytes(32)).publicKey })),
      published: PUBLISHED,
    })
  })
}

/** Sign `node` again with the key its identityKey names, if we hold it and it fits the schema. */
function resign (node: unknown, signers: Signers): void {
  if (typeof node !== 'object' || node === null) return
  const record = node as Record<string, unknown>
  const identity = typeof record.identityKey === 'string' ? signers.byIdentity.get(record.identityKey) : undefined
  if (identity === undefined) return
  try {
    const parsed = validate(nodeDescriptorSpec, { ...record, signature: '00'.repeat(64) })
    record.signature = toHex(sign(identity.secretKey, nodeSignedMessage(parsed)))
  } catch {
    // Not schema-valid: it stays as mutated (the verifier says MALFORMED).
  }
}

/** JSON mutation, then (half the time) every node descriptor in it re-signed. */
function generateSigned (rng: Prng, corpus: readonly object[], signers: Signers, nodesOf: (doc: unknown) => unknown[]): Uint8Array {
  const bytes = mutateJson(rng, corpus)
  if (!rng.chance(0.5)) return bytes
  let doc: unknown
  try { doc = JSON.parse(decoder.decode(bytes)) } catch { return bytes }
  for (const node of nodesOf(doc)) resign(node, signers)
  return encoder.encode(JSON.stringify(doc))
}

const nodeDescriptor: TargetSpec = {
  name: 'node-descriptor',
  defaultInputs: 400_000,
  why: 'an Ed25519 verify (≈ 150 µs) for every input that parses, and a signature for half of them',
  make (rng): FuzzTarget {
    const signers: Signers = { byIdentity: new Map() }
    const corpus = nodeDescriptors(rng, 2, signers)
    return {
      name: 'node-descriptor',
      errors: [DescriptorError],
      generate: (r) => generateSigned(r, corpus, signers, (doc) => [doc]),
      run (input) {
        const node = verifyNodeDescriptor(parseDescriptorBytes(input), { now: NOW })
        invariant(node.epochKeys.length >= 1, 'a verified node has onion keys')
        return node.role
      },
    }
  },
}

const cascadeDescriptor: TargetSpec = {
  name: 'cascade-descriptor',
  defaultInputs: 150_000,
  why: 'up to 3 Ed25519 verifies per input, and re-signing 3 hops for half of them (≈ 0.5 ms)',
  make (rng): FuzzTarget {
    const signers: Signers = { byIdentity: new Map() }
    const corpus = [2, 3].map((n) => createCascadeDescriptor(nodeDescriptors(rng, n, signers), { now: NOW }))
    const hopsOf = (doc: unknown): unknown[] => {
      const hops = (doc as { hops?: unknown } | null)?.hops
      return Array.isArray(hops) ? hops : []
    }
    return {
      name: 'cascade-descriptor',
      errors: [DescriptorError],
      generate: (r) => generateSigned(r, corpus, signers, hopsOf),
      run (input) {
        const verified = verifyCascadeDescriptor(parseDescriptorBytes(input), { now: NOW })
        invariant(verified.cascade.hops.length === verified.nodes.length, 'one hop per node')
        return `hops${verified.nodes.length}`
      },
    }
  },
}

const cascadeFile: TargetSpec = {
  name: 'cascade-file',
  make (rng): FuzzTarget {
    const hop = (role: 'mix' | 'exit', port: number): Parameters<typeof makeCascade>[0]['hops'][number] => ({
      role, address: { host: '127.0.0.1', port }, linkKey: rng.bytes(32), onionKeys: [{ epoch: 0, onionKey: rng.bytes(32) }, { epoch: 1, onionKey: rng.bytes(32) }],
    })
    const corpus = [
      cascadeToJson(makeCascade({ cellSize: 2048, roundMs: 10, hops: [hop('mix', 9001), hop('exit', 9002)] })),
      cascadeToJson(makeCascade({ cellSize: 512, roundMs: 5, hops: [hop('mix', 1), hop('mix', 2), hop('exit', 3)] })),
      { version: 1, hops: [{ role: 'exit', address: '127.0.0.1:1', linkKey: '11'.repeat(32), onionKey: '22'.repeat(32) }] },
    ]
    return {
      name: 'cascade-file',
      errors: [ConfigError, ProtocolError],
      generate: (r) => mutateJson(r, corpus),
      run (input) {
        let json: unknown
        try { json = JSON.parse(decoder.decode(input)) } catch { return 'not-json' }
        const cascade = cascadeFromJson(json)
        return `hops${cascade.hops.length}`
      },
    }
  },
}

export const directoryTargets: readonly TargetSpec[] = [nodeDescriptor, cascadeDescriptor, cascadeFile]
