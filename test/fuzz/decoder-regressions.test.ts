/**
 * Escapes the decoder fuzzer found, as fixed inputs: each must now be refused with its typed
 * error, naming the field, instead of a RangeError or TypeError.
 */
import t from 'tap'
import { cryptoReady, ed25519KeyPair, x25519KeyPair } from '../../src/crypto/index.js'
import { cascadeFromJson } from '../../src/directory/cascade-json.js'
import { DescriptorError } from '../../src/directory/descriptor-error.js'
import { makeNodeDescriptor, verifyNodeDescriptor } from '../../src/directory/descriptor.js'
import type { CascadeParams } from '../../src/protocol/cascade-params.js'
import { ConfigError } from '../../src/base/config-error.js'
import { DEFAULT_SHAPING } from '../../src/protocol/shaping.js'

await cryptoReady()

const params: CascadeParams = { cellSize: 2048, roundMs: 10, epochS: 3600, genesis: 1_700_000_000, shaping: DEFAULT_SHAPING.elastic }
const published = params.genesis + 1000 * 3600 + 600

function node (): Record<string, unknown> {
  return makeNodeDescriptor(ed25519KeyPair(new Uint8Array(32).fill(1)), {
    role: 'mix',
    address: '127.0.0.1:9001',
    linkKey: x25519KeyPair(new Uint8Array(32).fill(2)).publicKey,
    params,
    epochKeys: [1000, 1001].map((epoch) => ({ epoch, onionKey: x25519KeyPair(new Uint8Array(32).fill(epoch % 256)).publicKey })),
    published,
  }) as unknown as Record<string, unknown>
}

// The signed encoding carries shaping integers in 32 bits; the schema let larger ones through,
// and building the signed message threw "RangeError: cannot encode 4294967296 in a field of at most 4294967295".
for (const [field, value] of [['slotMs', 2 ** 32], ['kMin', 2 ** 32 + 1], ['loopJitterRounds', 2 ** 53 - 1], ['rates', [0.2, 1, 4, 4294967.296]], ['rates', new Array(17).fill(1)]] as const) {
  t.test(`node descriptor with shaping.${field} beyond what is signed: DESCRIPTOR_MALFORMED`, async (t) => {
    const json = node()
    json.shaping = { ...(json.shaping as object), [field]: value }
    const err = (() => { try { verifyNodeDescriptor(json, { now: published + 60 }); return undefined } catch (e) { return e } })()
    t.type(err, DescriptorError)
    t.equal((err as DescriptorError).code, 'DESCRIPTOR_MALFORMED')
    t.match((err as DescriptorError).field, /^shaping\./)
  })
}

const hop = (role: string, port: number, keys = true): Record<string, unknown> => ({
  role, address: `127.0.0.1:${port}`, linkKey: '11'.repeat(32), ...(keys ? { onionKey: '22'.repeat(32) } : {}),
})

// makeCascade threw TypeErrors ("cascade hop 1 must be the exit", "cascade hop 2 has no onion key").
t.test('cascade file with the exit not last: CONFIG_INVALID naming the role', async (t) => {
  const err = (() => { try { cascadeFromJson({ version: 1, hops: [hop('exit', 1), hop('mix', 2)] }); return undefined } catch (e) { return e } })()
  t.type(err, ConfigError)
  t.equal((err as ConfigError).code, 'CONFIG_INVALID')
  t.same((err as ConfigError).issues.map((i) => i.path), ['hops[0].role', 'hops[1].role'])
})

t.test('cascade file with a hop without onion keys: CONFIG_INVALID naming the hop', async (t) => {
  const err = (() => { try { cascadeFromJson({ version: 1, hops: [hop('mix', 1), hop('exit', 2, false)] }); return undefined } catch (e) { return e } })()
  t.type(err, ConfigError)
  t.same((err as ConfigError).issues.map((i) => i.path), ['hops[1]'])
})

t.test('a good cascade file still loads', async (t) => {
  t.equal(cascadeFromJson({ version: 1, hops: [hop('mix', 1), hop('exit', 2)] }).hops.length, 2)
})
