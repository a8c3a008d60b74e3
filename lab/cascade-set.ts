/**
 * A complete config set for a cascade whose hops may live on different hosts, written the way
 * `mixgate up --state-dir` writes it (state-dir.ts) and an operator would make it by hand:
 * keygen per hop, each hop's signed descriptor from its key dir, the signed cascade, the
 * configs. Made in this process, from the library the CLI uses.
 *
 * Beyond what `up` writes, a hop may listen on another address than the one it publishes
 * (`listen`: the lab puts its link shaper at the published address), and may open a `publish`
 * listener, as hops on separate hosts must: admin ports stay on loopback, so the entry fetches
 * its peers' /descriptor, and the client the entry's /cascade, from the publish listeners.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { formatHostPort, type HostPort } from '../src/base/address.js'
import type { LogSettings } from '../src/node/start/node-setup.js'
import { cryptoReady } from '../src/crypto/index.js'
import { createCascadeDescriptor } from '../src/directory/signed-cascade.js'
import { epochSchedule } from '../src/protocol/epoch.js'
import type { CascadeParams } from '../src/protocol/cascade-params.js'
import { keygen, loadIdentity, wipeIdentity } from '../src/node/keys/identity.js'
import { describeHop, type DescribedHop } from '../src/node/start/node-descriptor.js'
import { readOnionPublicKeys } from '../src/node/start/onion-public-keys.js'
import { nodeName, writeStateSet } from '../src/node/start/state-dir.js'

export interface SetHop {
  /** Where the others dial it (signed in its descriptor). */
  readonly address: HostPort
  /** Where it listens, if not at `address`. */
  readonly listen?: HostPort
  readonly admin: HostPort
  /** The public descriptor listener: where it listens, and the base URL others reach it at. */
  readonly publish?: { readonly listen: HostPort, readonly url: string }
}

export interface CascadeSetOptions {
  /** The mixes, entry first, then the exit. */
  readonly hops: readonly SetHop[]
  readonly params: CascadeParams
  readonly exitPolicy: readonly string[]
  readonly socks: HostPort
  readonly clientAdmin: HostPort
  readonly log?: LogSettings
  /** More fields of a hop's config, by position (1 = entry). */
  readonly hopFields?: Readonly<Record<number, Record<string, unknown>>>
  /** More fields of client.json (e.g. streamTimeoutMs). */
  readonly client?: Record<string, unknown>
  /** The time the descriptors are signed at (Unix seconds; default now). */
  readonly nowS?: number
}

/** Write the set into `dir` (new or empty): DIR/cascade.json, DIR/<node>.json, DIR/<node>/ key dirs, DIR/client.json. */
export async function writeCascadeSet (dir: string, options: CascadeSetOptions): Promise<void> {
  await cryptoReady()
  const hopCount = options.hops.length
  const nowS = options.nowS ?? Date.now() / 1000
  const schedule = epochSchedule({ epochS: options.params.epochS, genesisS: options.params.genesis })
  const hops = []
  const descriptors = []
  for (const [i, hop] of options.hops.entries()) {
    const position = i + 1
    const keyDir = join(dir, nodeName(position, hopCount))
    await keygen(keyDir)
    const keys = await loadIdentity(keyDir)
    const { keys: epochKeys } = await readOnionPublicKeys(keyDir, schedule, () => nowS * 1000)
    const described: DescribedHop = { role: position === hopCount ? 'exit' : 'mix', address: hop.address, params: options.params }
    descriptors.push(describeHop(described, keys.identity, keys.link.publicKey, epochKeys, nowS))
    wipeIdentity(keys)
    hops.push({ position, role: described.role, address: hop.address, admin: hop.admin })
  }
  await writeStateSet(dir, {
    cascade: createCascadeDescriptor(descriptors, { now: nowS }),
    params: options.params,
    hops,
    exitPolicy: options.exitPolicy,
    socks: options.socks,
    clientAdmin: options.clientAdmin,
    log: options.log ?? { level: 'info', format: 'text' },
  })
  // With publish listeners, the entry's peers and the client's cascadeUrl point at them.
  const published = options.hops.every((hop) => hop.publish !== undefined)
  for (const [i, hop] of options.hops.entries()) {
    await editConfig(join(dir, `${nodeName(i + 1, hopCount)}.json`), (config) => {
      if (hop.listen !== undefined) config.listen = formatHostPort(hop.listen)
      if (hop.publish !== undefined) config.publish = formatHostPort(hop.publish.listen)
      if (published && i === 0) config.peers = options.hops.slice(1).map((h) => h.publish!.url)
      Object.assign(config, options.hopFields?.[i + 1])
    })
  }
  await editConfig(join(dir, 'client.json'), (config) => {
    if (published) config.cascadeUrl = `${options.hops[0]!.publish!.url}/cascade`
    Object.assign(config, options.client)
  })
}

async function editConfig (path: string, edit: (config: Record<string, unknown>) => void): Promise<void> {
  const config = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>
  edit(config)
  await writeFile(path, JSON.stringify(config, null, 2) + '\n')
}
