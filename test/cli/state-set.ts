/**
 * Test helper: a complete config set (2 mixes + exit + client) in a directory, as
 * `mixgate up --state-dir` writes it, made in this process: keygen, each hop's signed
 * descriptor from its key dir, the signed cascade, the configs.
 */
import { join } from 'node:path'
import { createCascadeDescriptor } from '../../src/directory/signed-cascade.js'
import { epochSchedule } from '../../src/protocol/epoch.js'
import { keygen, loadIdentity, wipeIdentity } from '../../src/node/keys/identity.js'
import { describeHop, type DescribedHop } from '../../src/cli/node-descriptor.js'
import { readOnionPublicKeys } from '../../src/cli/onion-public-keys.js'
import { nodeName, writeStateSet } from '../../src/cli/state-dir.js'
import { DEFAULT_SHAPING } from '../../src/protocol/shaping.js'

export const PARAMS = { cellSize: 2048, roundMs: 10, epochS: 3600, genesis: 0, shaping: DEFAULT_SHAPING.off }

/** Write the set into `dir` (empty or new); hop ports 40001…, admin ports 41001…. */
export async function writeTestSet (dir: string, options: { mixes?: number, nowS?: number } = {}): Promise<void> {
  const hopCount = (options.mixes ?? 2) + 1
  const nowS = options.nowS ?? Date.now() / 1000
  const schedule = epochSchedule({ epochS: PARAMS.epochS, genesisS: PARAMS.genesis })
  const hops = []
  const descriptors = []
  for (let position = 1; position <= hopCount; position++) {
    const keyDir = join(dir, nodeName(position, hopCount))
    await keygen(keyDir)
    const keys = await loadIdentity(keyDir)
    const { keys: epochKeys } = await readOnionPublicKeys(keyDir, schedule, () => nowS * 1000)
    const described: DescribedHop = { role: position === hopCount ? 'exit' : 'mix', address: { host: '127.0.0.1', port: 40000 + position }, ...PARAMS }
    descriptors.push(describeHop(described, keys.identity, keys.link.publicKey, epochKeys, nowS))
    wipeIdentity(keys)
    hops.push({ position, role: described.role, address: described.address, admin: { host: '127.0.0.1', port: 41000 + position } })
  }
  await writeStateSet(dir, {
    cascade: createCascadeDescriptor(descriptors, { now: nowS }),
    params: PARAMS,
    hops,
    exitPolicy: ['accept 127.0.0.1:*'],
    socks: { host: '127.0.0.1', port: 1080 },
    clientAdmin: { host: '127.0.0.1', port: 41000 },
    log: { level: 'info', format: 'text' },
  })
}
