/**
 * The state directory `mixgate up --state-dir DIR` writes: a complete set from which each
 * node can run on its own (`mixgate exit --config DIR/exit.json`, …), on this host or,
 * after editing the addresses, on several.
 *
 *   DIR/                 mode 0700
 *     cascade.json       the signed cascade descriptor (public)
 *     mix1/ … exit/      each hop's key dir (mixgate keygen): identity.key, link.key, and once
 *                        the node has run, its onion-key seed and replay tag logs
 *     mix1.json …        one config per node, paths relative to DIR, an admin port each;
 *     exit.json          the entry's lists its peers' admin URLs, to serve /cascade
 *     client.json        cascade.json as trust anchor, the entry's /cascade for fresh keys
 *
 * Only a new or empty directory is used: an existing set holds keys, and overwriting keys
 * is not something a convenience command should do silently.
 */
import { chmod, mkdir, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { CascadeDescriptorJson } from '../../directory/signed-cascade.js'
import { formatHostPort, type HostPort } from '../../base/address.js'
import type { CascadeParams } from '../../protocol/cascade-params.js'
import type { LogSettings } from './node-setup.js'
import { UsageError } from '../../base/usage-error.js'
import { cascadeParamsToJson } from '../../directory/cascade-params-json.js'

export interface StateSetHop {
  readonly position: number
  readonly role: 'mix' | 'exit'
  readonly address: HostPort
  readonly admin: HostPort
}

export interface StateSet {
  readonly cascade: CascadeDescriptorJson
  readonly params: CascadeParams
  /** Every hop, in cascade order (the exit last); key dirs are `nodeName(position)`. */
  readonly hops: readonly StateSetHop[]
  readonly exitPolicy: readonly string[]
  readonly socks: HostPort
  /** The client's HTTP CONNECT door, if `up` was given one. */
  readonly http?: HostPort
  readonly clientAdmin: HostPort
  readonly log: LogSettings
}

/** Create `dir` (mode 0700), or check that it is empty and make it 0700. */
export async function prepareStateDir (dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const present = await readdir(dir)
  if (present.length > 0) {
    throw new UsageError(`mixgate up: state dir ${JSON.stringify(dir)} is not empty; give a new or empty directory ` +
      `(to run an earlier set, start its nodes: mixgate exit --config ${join(dir, 'exit.json')}, …)`, 'up')
  }
  await chmod(dir, 0o700)
}

/** The name of a node's config and key dir in the state dir. */
export function nodeName (position: number, hops: number): string {
  return position === hops ? 'exit' : `mix${position}`
}

/** The admin base URL of an admin address. */
export function adminUrl (admin: HostPort): string {
  return `http://${formatHostPort(admin)}`
}

/** Write the cascade and the configs into `dir` (prepared; the key dirs are made by keygen). */
export async function writeStateSet (dir: string, set: StateSet): Promise<void> {
  const count = set.hops.length
  const log = { level: set.log.level, format: set.log.format }
  const params = cascadeParamsToJson(set.params)
  await writeJson(join(dir, 'cascade.json'), set.cascade, 0o644)
  for (const hop of set.hops) {
    const name = nodeName(hop.position, count)
    const common = { keyDir: name, address: formatHostPort(hop.address), cascade: 'cascade.json', ...params, admin: formatHostPort(hop.admin) }
    const config = hop.role === 'exit'
      ? { role: 'exit', ...common, exitPolicy: set.exitPolicy, log }
      : { role: 'mix', position: hop.position, ...common, ...(hop.position === 1 ? { peers: set.hops.slice(1).map((h) => adminUrl(h.admin)) } : {}), log }
    await writeJson(join(dir, `${name}.json`), config, 0o600)
  }
  await writeJson(join(dir, 'client.json'), {
    role: 'client',
    cascade: 'cascade.json',
    cascadeUrl: `${adminUrl(set.hops[0]!.admin)}/cascade`,
    socks: formatHostPort(set.socks),
    ...(set.http === undefined ? {} : { http: formatHostPort(set.http) }),
    admin: formatHostPort(set.clientAdmin),
    log,
  }, 0o600)
}

async function writeJson (path: string, value: unknown, mode: number): Promise<void> {
  await writeFile(path, JSON.stringify(value, null, 2) + '\n', { mode, flag: 'wx' })
}
