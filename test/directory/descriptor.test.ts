/**
 * Node descriptors: the committed signature vector, round trips, and every refusal with its
 * typed error: changed bytes, wrong pinned key, expired, future-dated, expired epoch keys,
 * keys for the wrong epochs, malformed fields.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { cryptoReady, ed25519KeyPair, equal, sign } from '../../src/crypto/index.js'
import { DescriptorError } from '../../src/directory/descriptor-error.js'
import { parseDescriptorBytes, parseDescriptorText, toHex } from '../../src/directory/descriptor-json.js'
import { makeNodeDescriptor, nodeDescriptorSpec, nodeSignedMessage, onionKeyOf, publishedEpochKeys, verifyNodeDescriptor } from '../../src/directory/descriptor.js'
import { epochEndS, epochStartS } from '../../src/protocol/epoch.js'
import { validate } from '../../src/base/schema.js'
import { descriptorVectors } from './descriptor-vectors.js'
import { NOW, oneByteChanges, PARAMS, schedule, testNode } from './nodes.js'

await cryptoReady()

/** The DescriptorError `fn` throws (fails the test otherwise). */
function refusal (fn: () => unknown): DescriptorError {
  try {
    fn()
  } catch (err) {
    if (err instanceof DescriptorError) return err
    throw err
  }
  throw new Error('expected a DescriptorError')
}

/** Re-sign a descriptor after editing its JSON (to build signed-but-wrong descriptors). */
function resign (json: Record<string, unknown>, seedLabel: ReturnType<typeof testNode>): Record<string, unknown> {
  const parsed = validate(nodeDescriptorSpec, json)
  return { ...json, signature: toHex(sign(seedLabel.identity.secretKey, nodeSignedMessage(parsed))) }
}

t.test('descriptor.json: the signed message and signature over fixed fields, byte for byte', async (t) => {
  const committed = JSON.parse(readFileSync(join(process.cwd(), 'test', 'fixtures', 'vectors', 'descriptor.json'), 'utf8'))
  t.same(descriptorVectors(), committed)
  const message = Buffer.from(committed.node.message, 'hex')
  t.equal(message.subarray(0, 27).toString('latin1'), 'mixgate/v1/node-descriptor\0', 'domain-separated: label, NUL, body')
  const node = verifyNodeDescriptor(committed.node.descriptor, { now: committed.node.input.published + 1 })
  t.equal(node.published, committed.node.input.published)
})

t.test('a made descriptor verifies and reads back every field', async (t) => {
  const mix = testNode(1, 'mix')
  const json = mix.describe()
  const node = verifyNodeDescriptor(JSON.parse(JSON.stringify(json)), { now: NOW, pinnedIdentity: mix.identity.publicKey })
  t.equal(node.role, 'mix')
  t.same(node.address, { host: '127.0.0.1', port: 9001 })
  t.ok(equal(node.identityKey, mix.identity.publicKey))
  t.ok(equal(node.linkKey, mix.link.publicKey))
  t.same(node.params, PARAMS)
  t.same(node.epochKeys.map((k) => k.epoch), [100, 101], 'current and next epoch')
  t.ok(equal(onionKeyOf(node, 101)!, mix.onionKey(101)))
  t.equal(onionKeyOf(node, 102), undefined)
  t.equal(node.validUntil, epochEndS(schedule, 101), 'valid until the last key\'s epoch ends by default')
  t.match(json.identityKey, /^[0-9a-f]{64}$/)
  const keys = publishedEpochKeys({ publicKey: mix.onionKey }, PARAMS, NOW)
  t.same(keys.map((k) => k.epoch), [100, 101], 'publishedEpochKeys picks the current and next epochs')
})

t.test('every one-byte change anywhere in a signed descriptor is refused with a DescriptorError', async (t) => {
  const text = JSON.stringify(testNode(2, 'mix').describe())
  const codes = new Map<string, number>()
  let changes = 0
  for (const { bytes } of oneByteChanges(text)) {
    const err = refusal(() => verifyNodeDescriptor(parseDescriptorBytes(bytes), { now: NOW }))
    codes.set(err.code, (codes.get(err.code) ?? 0) + 1)
    changes++
  }
  t.equal(changes, text.length * 3)
  t.ok(codes.get('DESCRIPTOR_BAD_SIGNATURE')! > 0, 'changes in signed values fail the signature')
  t.ok(codes.get('DESCRIPTOR_MALFORMED')! > 0, 'changes in syntax, names or hex case are malformed')
  t.same([...codes.keys()].sort(), ['DESCRIPTOR_BAD_SIGNATURE', 'DESCRIPTOR_MALFORMED'].sort(), 'no change slips through as anything else')
})

t.test('a descriptor signed by another key than the pinned one is refused', async (t) => {
  const json = testNode(1, 'mix').describe()
  const err = refusal(() => verifyNodeDescriptor(json, { now: NOW, pinnedIdentity: testNode(2, 'mix').identity.publicKey }))
  t.equal(err.code, 'DESCRIPTOR_IDENTITY_MISMATCH')
  t.equal(err.field, 'identityKey')
  t.match(err.message, /not the pinned/)
  const impostor = makeNodeDescriptor(ed25519KeyPair(), { ...fieldsOf(testNode(1, 'mix')), published: NOW })
  t.equal(refusal(() => verifyNodeDescriptor(impostor, { now: NOW, pinnedIdentity: testNode(1, 'mix').identity.publicKey })).code, 'DESCRIPTOR_IDENTITY_MISMATCH', 'a validly self-signed impostor too')
})

t.test('expired, future-dated, and without a key for the current epoch: each refused by name', async (t) => {
  const mix = testNode(1, 'mix')
  const json = mix.describe()
  const expired = refusal(() => verifyNodeDescriptor(json, { now: epochEndS(schedule, 101) }))
  t.equal(expired.code, 'DESCRIPTOR_EXPIRED')
  t.equal(expired.field, 'validUntil')
  const future = refusal(() => verifyNodeDescriptor(json, { now: NOW - 61 }))
  t.equal(future.code, 'DESCRIPTOR_NOT_YET_VALID', 'published more than the allowed skew ahead')
  t.equal(future.field, 'published')
  t.doesNotThrow(() => verifyNodeDescriptor(json, { now: NOW - 60 }), 'within the skew is fine')
  t.equal(refusal(() => verifyNodeDescriptor(json, { now: NOW - 5, maxSkewS: 0 })).code, 'DESCRIPTOR_NOT_YET_VALID')

  const longLived = mix.describe({ validUntil: epochEndS(schedule, 110) })
  const stale = refusal(() => verifyNodeDescriptor(longLived, { now: epochStartS(schedule, 102) + 1 }))
  t.equal(stale.code, 'DESCRIPTOR_EPOCH_KEY_EXPIRED', 'a still-valid descriptor whose onion keys are all past')
  t.equal(stale.field, 'epochKeys')
  t.match(stale.message, /newest onion key is for epoch 101, but the current epoch is 102/)

  const early = mix.describe({ at: epochEndS(schedule, 100) - 10, epochKeys: [{ epoch: 101, onionKey: mix.onionKey(101) }] })
  const notYet = refusal(() => verifyNodeDescriptor(early, { now: epochEndS(schedule, 100) - 20 }))
  t.equal(notYet.code, 'DESCRIPTOR_NOT_YET_VALID', 'keys that start after the current epoch')
  t.equal(notYet.field, 'epochKeys')
})

t.test('onion keys must be consecutive and for the epochs around publication', async (t) => {
  const mix = testNode(1, 'mix')
  const base = mix.describe() as unknown as Record<string, unknown>
  const gap = resign({ ...base, epochKeys: [{ epoch: 100, onionKey: toHex(mix.onionKey(100)) }, { epoch: 102, onionKey: toHex(mix.onionKey(102)) }] }, mix)
  t.equal(refusal(() => verifyNodeDescriptor(gap, { now: NOW })).code, 'DESCRIPTOR_BAD_EPOCH_KEYS')
  const old = resign({ ...base, epochKeys: [{ epoch: 90, onionKey: toHex(mix.onionKey(90)) }] }, mix)
  const err = refusal(() => verifyNodeDescriptor(old, { now: NOW }))
  t.equal(err.code, 'DESCRIPTOR_BAD_EPOCH_KEYS')
  t.match(err.message, /first onion key is for epoch 90, but it was published in epoch 100/)
  t.throws(() => makeNodeDescriptor(mix.identity, { ...fieldsOf(mix), published: NOW, epochKeys: [{ epoch: 100, onionKey: mix.onionKey(100) }, { epoch: 102, onionKey: mix.onionKey(102) }] }), { code: 'DESCRIPTOR_BAD_EPOCH_KEYS' }, 'and nobody can make one')
})

t.test('malformed descriptors name the field at fault', async (t) => {
  const json = testNode(1, 'mix').describe() as unknown as Record<string, unknown>
  const without = { ...json }
  delete without.linkKey
  const missing = refusal(() => verifyNodeDescriptor(without, { now: NOW }))
  t.equal(missing.code, 'DESCRIPTOR_MALFORMED')
  t.equal(missing.field, 'linkKey')
  t.match(missing.message, /field "linkKey": required/)
  const upper = refusal(() => verifyNodeDescriptor({ ...json, linkKey: (json.linkKey as string).toUpperCase() }, { now: NOW }))
  t.equal(upper.field, 'linkKey', 'uppercase hex is not accepted')
  t.match(upper.message, /lowercase hex/)
  t.notMatch(upper.message, new RegExp(json.linkKey as string, 'i'), 'the message does not echo the key')
  const extra = refusal(() => verifyNodeDescriptor({ ...json, onionKey: 'x' }, { now: NOW }))
  t.match(extra.message, /unknown field "onionKey"/)
  const address = refusal(() => verifyNodeDescriptor({ ...json, address: '127.0.0.1' }, { now: NOW }))
  t.equal(address.field, 'address')
  const cell = refusal(() => verifyNodeDescriptor({ ...json, cellSize: 1000 }, { now: NOW }))
  t.equal(cell.field, 'cellSize')
  t.equal(refusal(() => verifyNodeDescriptor({ ...json, validUntil: NOW - 1000 }, { now: NOW })).field, 'validUntil')
  t.equal(refusal(() => verifyNodeDescriptor([], { now: NOW })).code, 'DESCRIPTOR_MALFORMED')
  const syntax = refusal(() => parseDescriptorText('{"type": "node",\n  "role": }'))
  t.match(syntax.message, /not valid JSON: line 2, column/)
  t.equal(refusal(() => parseDescriptorText('{"a":1,"a":2}')).code, 'DESCRIPTOR_MALFORMED', 'duplicate keys are refused')
  t.match(refusal(() => parseDescriptorBytes(Uint8Array.of(0x7b, 0xff, 0x7d))).message, /not UTF-8/)
})

function fieldsOf (node: ReturnType<typeof testNode>) {
  return { role: 'mix' as const, address: node.address, linkKey: node.link.publicKey, params: PARAMS, epochKeys: [100, 101].map((epoch) => ({ epoch, onionKey: node.onionKey(epoch) })) }
}
