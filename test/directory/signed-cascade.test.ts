/**
 * Signed cascade descriptors: assembly, full verification into a `Cascade` with per-epoch
 * onion keys, and refusal of any changed byte, wrong pins, rollback, expiry, future dates,
 * expired epoch keys, bad order, duplicates and parameter mismatches.
 */
import t from 'tap'
import { cryptoReady, equal } from '../../src/crypto/index.js'
import { linkPrologue } from '../../src/directory/cascade.js'
import { DescriptorError } from '../../src/directory/descriptor-error.js'
import { parseDescriptorBytes } from '../../src/directory/descriptor-json.js'
import { cascadeCoreId, createCascadeDescriptor, verifyCascadeDescriptor, type CascadeDescriptorJson } from '../../src/directory/signed-cascade.js'
import { epochEndS, epochStartS } from '../../src/protocol/epoch.js'
import { NOW, oneByteChanges, PARAMS, schedule, testCascade, testNode } from './nodes.js'
import { DEFAULT_SHAPING } from '../../src/protocol/shaping.js'

await cryptoReady()

function refusal (fn: () => unknown): DescriptorError {
  try {
    fn()
  } catch (err) {
    if (err instanceof DescriptorError) return err
    throw err
  }
  throw new Error('expected a DescriptorError')
}

const nodes = testCascade(3)
const pins = nodes.map((n) => n.identity.publicKey)
const descriptor = createCascadeDescriptor(nodes.map((n) => n.describe()), { now: NOW })

t.test('a created cascade verifies into a Cascade with the current epoch\'s keys and the next', async (t) => {
  const verified = verifyCascadeDescriptor(JSON.parse(JSON.stringify(descriptor)), { now: NOW, pinnedIdentities: pins })
  const { cascade } = verified
  t.same([...cascade.hops[0]!.onionKeys.keys()], [100])
  t.equal(cascade.hops.length, 4)
  t.same(cascade.hops.map((h) => h.role), ['mix', 'mix', 'mix', 'exit'])
  t.same(cascade.hops.map((h) => h.position), [1, 2, 3, 4])
  t.ok(cascade.hops.every((h, i) => equal(h.onionKeys.get(100)!, nodes[i]!.onionKey(100)) && equal(h.linkKey, nodes[i]!.link.publicKey)))
  t.equal(cascade.geometry.cellSize, 2048)
  t.equal(cascade.roundMs, 10)
  t.ok(equal(cascade.id, verified.id))
  t.ok(equal(verified.id, cascadeCoreId(PARAMS, verified.nodes)))
  t.same(verified.epochs, [100, 101])
  t.equal(verified.newestEpoch, 101)
  t.ok(equal(verified.onionKey(3, 101)!, nodes[2]!.onionKey(101)), 'onion key of hop 3 for the next epoch')
  t.equal(verified.onionKey(3, 102), undefined)
  t.equal(verified.onionKey(9, 100), undefined)
  const next = verified.cascadeAt(101)
  t.same([...next.hops[0]!.onionKeys.keys()], [101])
  t.ok(equal(next.hops[0]!.onionKeys.get(101)!, nodes[0]!.onionKey(101)))
  t.ok(equal(next.id, verified.id), 'the ID does not change with the epoch')
  t.throws(() => verified.cascadeAt(102), { code: 'DESCRIPTOR_EPOCH_KEY_EXPIRED' })
  t.equal(linkPrologue(cascade, 2).length, 'mixgate/v1'.length + 33, 'usable by the link layer')
  t.equal(descriptor.validFrom, NOW)
  t.equal(descriptor.validUntil, epochEndS(schedule, 101))
  t.match(verified.summary, /3 mixes \+ exit, cell 2048 B, round 10 ms, shaping off/)
  t.match(verified.summary, /onion keys for epochs 100, 101 \(current 100\)/)
  t.match(verified.summary, new RegExp(`4\\. exit 127\\.0\\.0\\.1:9004  identity ${Buffer.from(pins[3]!).toString('hex')}`))
})

t.test('the cascade ID covers what does not rotate, and only that', async (t) => {
  const later = NOW + 3600
  const rotated = verifyCascadeDescriptor(createCascadeDescriptor(nodes.map((n) => n.describe({ at: later })), { now: later }), { now: later })
  const original = verifyCascadeDescriptor(descriptor, { now: NOW })
  t.ok(equal(rotated.id, original.id), 'new epoch keys and validity: same ID')
  t.notOk(equal([...rotated.cascade.hops[0]!.onionKeys.values()][0]!, [...original.cascade.hops[0]!.onionKeys.values()][0]!), '… with new onion keys')
  const id = (changes: Partial<typeof PARAMS>, hops = original.nodes): string => Buffer.from(cascadeCoreId({ ...PARAMS, ...changes }, hops)).toString('hex')
  const base = id({})
  for (const [name, value] of [['cellSize', 4096], ['roundMs', 20], ['epochS', 60], ['genesis', 0], ['shaping', DEFAULT_SHAPING.strict]] as const) {
    t.not(id({ [name]: value }), base, `${name} is in the ID`)
  }
  t.not(id({ shaping: { ...DEFAULT_SHAPING.elastic, ratesMilli: [100, 1000, 4000, 32000] } }), id({ shaping: DEFAULT_SHAPING.elastic }), 'every shaping rate is in the ID')
  const swapped = [original.nodes[1]!, original.nodes[0]!, ...original.nodes.slice(2)]
  t.not(id({}, swapped), base, 'hop order is in the ID')
  const otherIdentity = original.nodes.map((n, i) => i === 0 ? { ...n, identityKey: pins[1]! } : n)
  t.not(id({}, otherIdentity), base, 'identity keys are in the ID')
})

t.test('every one-byte change anywhere in a cascade descriptor is refused', async (t) => {
  const text = JSON.stringify(descriptor)
  const codes = new Set<string>()
  let changes = 0
  // Every position, one change each (the node descriptor test tries all three per position).
  for (const { bytes } of oneByteChanges(text, { all: false })) {
    codes.add(refusal(() => verifyCascadeDescriptor(parseDescriptorBytes(bytes), { now: NOW })).code)
    changes++
  }
  t.equal(changes, text.length, `all ${changes} changes refused`)
  t.ok(codes.has('DESCRIPTOR_BAD_SIGNATURE') && codes.has('DESCRIPTOR_MALFORMED') && codes.has('DESCRIPTOR_PARAMS_MISMATCH'),
    `refusals: ${[...codes].sort().join(', ')}`)
})

t.test('wrong pinned identities are refused, naming the hop', async (t) => {
  const wrong = [...pins]
  wrong[2] = testNode(9, 'mix').identity.publicKey
  const err = refusal(() => verifyCascadeDescriptor(descriptor, { now: NOW, pinnedIdentities: wrong }))
  t.equal(err.code, 'DESCRIPTOR_IDENTITY_MISMATCH')
  t.equal(err.hop, 3)
  t.equal(err.field, 'hops[2].identityKey')
  t.equal(refusal(() => verifyCascadeDescriptor(descriptor, { now: NOW, pinnedIdentities: pins.slice(1) })).code, 'DESCRIPTOR_IDENTITY_MISMATCH', 'a different number of pins')
  t.equal(refusal(() => createCascadeDescriptor(descriptor.hops, { now: NOW, pinnedIdentities: wrong })).code, 'DESCRIPTOR_IDENTITY_MISMATCH', 'create checks pins too')
})

t.test('rollback: a descriptor older than the last one accepted is refused', async (t) => {
  const nextHour = epochStartS(schedule, 101) + 60
  const newer = verifyCascadeDescriptor(createCascadeDescriptor(nodes.map((n) => n.describe({ at: nextHour })), { now: nextHour }), { now: nextHour })
  t.equal(newer.newestEpoch, 102)
  const err = refusal(() => verifyCascadeDescriptor(descriptor, { now: nextHour, lastSeenEpoch: newer.newestEpoch }))
  t.equal(err.code, 'DESCRIPTOR_ROLLBACK', 'the old descriptor is still unexpired but older than what was seen')
  t.match(err.message, /epoch 101, older than epoch 102/)
  t.doesNotThrow(() => verifyCascadeDescriptor(descriptor, { now: NOW, lastSeenEpoch: 101 }), 'the same descriptor again is fine')
  const mixedAges = [nodes[0]!.describe({ at: nextHour }), ...nodes.slice(1).map((n) => n.describe())]
  const stale = refusal(() => verifyCascadeDescriptor(createCascadeDescriptor(mixedAges, { now: nextHour }), { now: nextHour, lastSeenEpoch: 102 }))
  t.equal(stale.code, 'DESCRIPTOR_ROLLBACK', 'one hop served from an old descriptor is a rollback')
})

t.test('expired, future-dated, and a hop without a current epoch key: refused', async (t) => {
  t.equal(refusal(() => verifyCascadeDescriptor(descriptor, { now: descriptor.validUntil })).code, 'DESCRIPTOR_EXPIRED')
  const future = refusal(() => verifyCascadeDescriptor(descriptor, { now: NOW - 3600 }))
  t.equal(future.code, 'DESCRIPTOR_NOT_YET_VALID')
  t.equal(future.field, 'validFrom')
  const hops = nodes.map((n, i) => i === 1 ? n.describe({ validUntil: epochEndS(schedule, 110) }) : n.describe({ validUntil: epochEndS(schedule, 110) }))
  const longLived = createCascadeDescriptor(hops, { now: NOW })
  const err = refusal(() => verifyCascadeDescriptor(longLived, { now: epochStartS(schedule, 102) + 5 }))
  t.equal(err.code, 'DESCRIPTOR_EPOCH_KEY_EXPIRED')
  t.equal(err.hop, 1)
  t.equal(err.field, 'hops[0].epochKeys')
})

t.test('roles out of order, duplicate nodes and mismatched parameters are refused', async (t) => {
  const [m1, m2, m3, exit] = nodes.map((n) => n.describe())
  const exitInMiddle = refusal(() => createCascadeDescriptor([m1, exit, m3, m2], { now: NOW }))
  t.equal(exitInMiddle.code, 'DESCRIPTOR_BAD_ORDER')
  t.equal(exitInMiddle.hop, 2)
  t.equal(refusal(() => createCascadeDescriptor([m1, m2, m3], { now: NOW })).code, 'DESCRIPTOR_BAD_ORDER', 'no exit')
  const twice = refusal(() => createCascadeDescriptor([m1, m2, m1, exit], { now: NOW }))
  t.equal(twice.code, 'DESCRIPTOR_DUPLICATE_NODE')
  t.match(twice.message, /hops 1 and 3 have the same identity key/)
  const slow = nodes[1]!.describe({ params: { ...PARAMS, roundMs: 20 } })
  const mismatch = refusal(() => createCascadeDescriptor([m1, slow, m3, exit], { now: NOW }))
  t.equal(mismatch.code, 'DESCRIPTOR_PARAMS_MISMATCH')
  t.equal(mismatch.field, 'hops[1].roundMs')
  t.equal(refusal(() => createCascadeDescriptor([m1, m2, m3, exit], { now: NOW, params: { cellSize: 4096 } })).code, 'DESCRIPTOR_PARAMS_MISMATCH', 'create checks the expected parameters')
  t.equal(refusal(() => createCascadeDescriptor([], { now: NOW })).code, 'DESCRIPTOR_MALFORMED')
})

t.test('cascade-level fields must be exactly what the hops signed', async (t) => {
  const edit = (changes: Partial<CascadeDescriptorJson>): DescriptorError => refusal(() => verifyCascadeDescriptor({ ...descriptor, ...changes }, { now: NOW }))
  t.equal(edit({ validUntil: descriptor.validUntil + 3600 }).field, 'validUntil', 'validity cannot be extended')
  t.equal(edit({ validUntil: descriptor.validUntil - 1 }).field, 'validUntil', 'nor shortened')
  t.equal(edit({ validFrom: descriptor.validFrom - 1 }).field, 'validFrom')
  t.equal(edit({ roundMs: 11 }).code, 'DESCRIPTOR_PARAMS_MISMATCH')
  t.equal(edit({ shaping: { profile: 'strict' } }).code, 'DESCRIPTOR_PARAMS_MISMATCH')
  t.equal(edit({ shaping: { profile: 'off', kMin: 5 } }).code, 'DESCRIPTOR_PARAMS_MISMATCH', 'any shaping field, not only the profile')
  const geometry = edit({ cellSize: 1000 })
  t.equal(geometry.code, 'DESCRIPTOR_MALFORMED', 'the geometry is checked at the cascade level')
  t.equal(geometry.field, 'cellSize')
  t.equal(edit({ hops: [] }).field, 'hops')
  const hops = descriptor.hops.map((hop, i) => i === 1 ? Object.fromEntries(Object.entries(hop).filter(([name]) => name !== 'linkKey')) : hop)
  const hopField = refusal(() => verifyCascadeDescriptor({ ...descriptor, hops }, { now: NOW }))
  t.equal(hopField.code, 'DESCRIPTOR_MALFORMED')
  t.equal(hopField.field, 'hops[1].linkKey', 'a hop\'s field is named by its path')
  t.equal(hopField.hop, 2)
  t.match(hopField.message, /^hop 2 is malformed: field "hops\[1\]\.linkKey": required$/)
  t.equal(edit({ hops: [...descriptor.hops, ...descriptor.hops, descriptor.hops[0]!] }).field, 'hops', 'at most 8 hops')
})
