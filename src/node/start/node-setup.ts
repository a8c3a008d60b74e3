/**
 * From a validated config file to everything a node needs to start: its keys, the signed
 * cascade it names, and the options of `runMix`, `runExit` or `runClient`.
 *
 * Everything an operator can get wrong is checked here, before any port is opened or any
 * key file written, and reported as a `ConfigError` naming the config field: the key dir
 * (exists, private, keys load), the cascade (every signature verifies), the position (is
 * there a mix there?), that the identity and link keys are the ones the cascade lists at
 * this node's position, that the published address and the signed parameters are the
 * cascade's, and that only the entry lists `peers`. `check-config` runs exactly this.
 *
 * Onion keys are opened at start (start-node.ts), not here: opening them creates or advances
 * the seed and the tag logs, which a check must not do.
 */
import { getServers } from 'node:dns'
import { equal } from '../../crypto/index.js'
import { cascadeFromVerified, type CascadeSource } from '../../directory/cascade.js'
import { SignedCascadeSource } from '../../directory/cascade-source.js'
import type { VerifiedCascade } from '../../directory/signed-cascade.js'
import type { VerifiedNode } from '../../directory/descriptor.js'
import type { RunClientOptions } from '../../client/run-client.js'
import type { RunExitOptions } from '../../exit/run-exit.js'
import type { RunMixOptions } from '../../mix/run-mix.js'
import type { LinkLimits } from '../../link/limits.js'
import { formatHostPort, type HostPort } from '../../base/address.js'
import type { EpochSchedule } from '../../protocol/epoch.js'
import { wipeIdentity, type NodeIdentity } from '../keys/identity.js'
import { openDurableOnionKeys, type OnionKeySource } from '../keys/onion-key-source.js'
import type { Logger, LogLevel } from '../../base/logger.js'
import { readCascadeFile } from './cascade-file.js'
import { resolveFrom } from '../../base/config-file.js'
import type { ExitConfig } from '../../cli/config/exit-config.js'
import type { MixConfig } from '../../cli/config/mix-config.js'
import type { ClientConfig } from '../../cli/config/client-config.js'
import type { FailClosedSettings } from '../../client/shaping/fail-closed-gate.js'
import type { RoleConfig } from '../../cli/config/role-config.js'
import { CASCADE_PARAM_NAMES, cascadeParamsOf, scheduleOf } from '../../protocol/cascade-params.js'
import { fieldError, loadNodeKeys } from './key-dir.js'
import type { DescribedHop } from './node-descriptor.js'
import { sameShaping, shapingToJson } from '../../directory/shaping-json.js'
import { fetchStatus } from '../admin/status.js'
import type { ParsedMetrics } from '../../base/metrics-text.js'

export interface LogSettings {
  readonly level: LogLevel
  readonly format: 'text' | 'json'
}

/** The replay table's default size (the hop's, src/hop/create-admission.ts), which is also each tag log's capacity. */
export const DEFAULT_REPLAY_CAPACITY = 1 << 18

/** What a hop keeps of its verified cascade descriptor (`up`'s hop threads get just this, as plain data). */
export type HopVerifiedCascade = Pick<VerifiedCascade, 'validUntil' | 'onionKey'> & { readonly nodes: ReadonlyArray<Pick<VerifiedNode, 'identityKey'>> }

/** What a mix or exit needs beyond the run options: its identity, onion keys, admin. */
export interface HopSetup {
  /** What its node descriptor says (role, address, signed parameters). */
  readonly described: DescribedHop
  /** Identity (signs descriptors) and link key; wiped when the node stops. */
  readonly keys: NodeIdentity
  readonly schedule: EpochSchedule
  /** Open the hop's onion keys (durable ones from its key dir, at start). */
  readonly openOnionKeys: (logger: Logger) => Promise<OnionKeySource>
  /**
   * The cascade as verified: its validity and the onion keys it lists (start-node.ts warns when
   * they are not the hop's), and its identity keys, pinning the peers the entry collects from.
   */
  readonly verified: HopVerifiedCascade
  /** The cascade's validity has ended (the hop still runs with it; clients need a fresh one). */
  readonly staleCascade: boolean
  readonly admin?: HostPort
  /** Where it serves its signed descriptors to other hosts (publish-server.ts). */
  readonly publish?: HostPort
  /** Entry only: admin URLs of hops 2…n, in hop order. */
  readonly peers?: readonly string[]
}

/** The client's cascade source; `close()` stops its refresh timer. */
export interface ClientCascade extends CascadeSource {
  close (): void
}

/** A node ready to start: what `runMix`/`runExit`/`runClient` take, minus what start opens. */
export type NodeSetup =
  | { readonly role: 'mix', readonly label: string, readonly log: LogSettings, readonly options: Omit<RunMixOptions, 'logger' | 'onionKeys'>, readonly hop: HopSetup }
  | { readonly role: 'exit', readonly label: string, readonly log: LogSettings, readonly options: Omit<RunExitOptions, 'logger' | 'onionKeys'>, readonly hop: HopSetup }
  | {
    readonly role: 'client'
    readonly label: string
    readonly log: LogSettings
    readonly options: Omit<RunClientOptions, 'logger' | 'cascade'>
    readonly openCascade: (logger: Logger) => Promise<ClientCascade>
    readonly admin?: HostPort
  }

/** Load what `config` (read from `configFile`) refers to and check it fits together. */
export async function setUpNode (config: RoleConfig, configFile: string): Promise<NodeSetup> {
  const log = config.log
  if (config.role === 'client') {
    const path = resolveFrom(configFile, config.cascade)
    await readCascadeFile(configFile, path, { allowStale: config.cascadeUrl !== undefined })
    return {
      role: 'client',
      label: 'client',
      log,
      options: {
        socks: config.socks,
        ...(config.http === undefined ? {} : { http: config.http }),
        auth: { none: config.auth.includes('none'), userPass: config.auth.includes('userpass') },
        safeSocks: config.safeSocks,
        ...(config.maxConnections === undefined ? {} : { maxConnections: config.maxConnections }),
        streamTimeoutMs: config.streamTimeoutMs,
        streamAttachTimeoutMs: config.streamAttachTimeoutMs,
        alarmLimit: config.alarmLimit,
        failClosed: clientFailClosed(config, configFile),
        // The entry's admin port (cascadeUrl's origin) reports the anonymity set for status.
        ...(config.cascadeUrl === undefined ? {} : { entryMetrics: entryMetricsAt(new URL(config.cascadeUrl).origin) }),
      },
      openCascade: (logger) => SignedCascadeSource.open({ file: path, ...(config.cascadeUrl === undefined ? {} : { url: config.cascadeUrl }), logger }),
      ...(config.admin === undefined ? {} : { admin: config.admin }),
    }
  }

  if (config.cascade === undefined) {
    throw fieldError(configFile, 'cascade', 'required to run the node: the signed cascade descriptor (mixgate cascade create)')
  }
  const cascadePath = resolveFrom(configFile, config.cascade)
  const { dir, keys } = await loadNodeKeys(configFile, config.keyDir)
  try {
    const { verified, stale } = await readCascadeFile(configFile, cascadePath, { allowStale: true })
    const hops = verified.nodes.length
    const position = config.role === 'mix' ? config.position : hops
    if (config.role === 'mix' && position > hops - 1) {
      const mixCount = hops - 1
      throw fieldError(configFile, 'position', `the cascade in ${JSON.stringify(cascadePath)} has ${mixCount === 1 ? 'one mix, at position 1' : `mixes at positions 1 to ${mixCount}`}, got ${position}`)
    }
    checkHopFits(config, configFile, verified, position, keys, cascadePath)
    const cascade = cascadeFromVerified(verified)
    const capacity = config.replayCapacity ?? DEFAULT_REPLAY_CAPACITY
    const schedule = scheduleOf(config)
    const hop: HopSetup = {
      described: { role: config.role, address: config.address, params: cascadeParamsOf(config) },
      keys,
      schedule,
      openOnionKeys: (logger) => openDurableOnionKeys({ dir, schedule, capacity, logger }),
      verified,
      staleCascade: stale,
      ...(config.admin === undefined ? {} : { admin: config.admin }),
      ...(config.publish === undefined ? {} : { publish: config.publish }),
      ...(config.role === 'mix' && config.peers !== undefined ? { peers: config.peers } : {}),
    }
    const common = {
      cascade,
      linkKey: keys.link,
      listen: config.listen ?? config.address,
      ...(config.replayCapacity === undefined ? {} : { replayCapacity: config.replayCapacity }),
      ...(config.circuitIdleS === undefined ? {} : { circuitIdleMs: config.circuitIdleS * 1000 }),
      linkIdleMs: config.linkIdleS * 1000,
      linkLimits: linkLimitsOf(config),
      createBudget: {
        ...(config.createRate === undefined ? {} : { createRatePerS: config.createRate }),
        ...(config.createBurst === undefined ? {} : { createBurst: config.createBurst }),
        ...(config.linkCreateRate === undefined ? {} : { linkCreateRatePerS: config.linkCreateRate }),
        ...(config.linkCreateBurst === undefined ? {} : { linkCreateBurst: config.linkCreateBurst }),
      },
    }
    if (config.role === 'mix') {
      return { role: 'mix', label: `mix[${position}]`, log, options: { ...common, position, minBatch: config.minBatch }, hop }
    }
    const dnsServers = config.dnsServers ?? getServers()
    if (dnsServers.length === 0) {
      throw fieldError(configFile, 'dnsServers', 'not set, and this host has no DNS servers configured: list the servers the exit should ask')
    }
    return {
      role: 'exit',
      label: 'exit',
      log,
      options: {
        ...common,
        exitPolicy: config.exitPolicy,
        dnsServers,
        ...(config.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: config.connectTimeoutMs }),
        limits: { maxDnsQueries: config.maxDnsQueries, maxOutbound: config.maxOutbound, maxStreamsPerCircuit: config.maxStreamsPerCircuit },
        // Refused like the cascade's link ports (an admin or publish port 0 is picked at start: not known here).
        services: [
          ...(config.admin === undefined ? [] : [{ what: 'the admin address', address: config.admin }]),
          ...(config.publish === undefined ? [] : [{ what: 'the publish address', address: config.publish }]),
        ],
      },
      hop,
    }
  } catch (err) {
    wipeIdentity(keys)
    throw err
  }
}

/** The listener's bounds, from the config fields of the same names. */
function linkLimitsOf (config: MixConfig | ExitConfig): LinkLimits {
  const { maxHandshakes, maxHandshakesPerSource, maxLinks, maxLinksPerSource, handshakeRate, handshakeBurst, handshakeRatePerSource, handshakeBurstPerSource } = config
  return { maxHandshakes, maxHandshakesPerSource, maxLinks, maxLinksPerSource, handshakeRate, handshakeBurst, handshakeRatePerSource, handshakeBurstPerSource }
}

/** Wipe what a setup holds that start did not take over (check-config, a failed start). */
export function disposeSetup (setup: NodeSetup): void {
  if (setup.role !== 'client') wipeIdentity(setup.hop.keys)
}

/** This hop is the one the cascade lists at `position`: keys, address, parameters, peers. */
function checkHopFits (config: MixConfig | ExitConfig, configFile: string, verified: VerifiedCascade, position: number, keys: NodeIdentity, cascadePath: string): void {
  const node = verified.nodes[position - 1]!
  const hops = verified.nodes.length
  const where = `hop ${position} (${position === hops ? 'the exit' : `mix ${position}`}) of the cascade in ${JSON.stringify(cascadePath)}`
  const keyDir = JSON.stringify(resolveFrom(configFile, config.keyDir))
  if (!equal(keys.identity.publicKey, node.identityKey)) {
    throw fieldError(configFile, 'keyDir', `the identity key in ${keyDir} is not the identity key of ${where}`)
  }
  if (!equal(keys.link.publicKey, node.linkKey)) {
    throw fieldError(configFile, 'keyDir', `the link key in ${keyDir} is not the link key of ${where}`)
  }
  if (formatHostPort(config.address) !== formatHostPort(node.address)) {
    throw fieldError(configFile, 'address', `${where} is at ${formatHostPort(node.address)}, not ${formatHostPort(config.address)}`)
  }
  if (!sameShaping(config.shaping, verified.params.shaping)) {
    throw fieldError(configFile, 'shaping', `the cascade in ${JSON.stringify(cascadePath)} has other shaping parameters (${JSON.stringify(shapingToJson(verified.params.shaping))})`)
  }
  for (const name of CASCADE_PARAM_NAMES) {
    if (name === 'shaping') continue
    if (config[name] !== verified.params[name]) {
      throw fieldError(configFile, name, `the cascade in ${JSON.stringify(cascadePath)} has ${name} ${verified.params[name]}, not ${config[name]}`)
    }
  }
  if (config.role === 'mix' && config.peers !== undefined) {
    if (position !== 1) throw fieldError(configFile, 'peers', 'only the entry mix (position 1) collects its peers\' descriptors')
    if (config.peers.length !== hops - 1) {
      throw fieldError(configFile, 'peers', `lists ${config.peers.length} admin URL${config.peers.length === 1 ? '' : 's'}, but the cascade has ${hops - 1} hops after the entry (hops 2 to ${hops}, in order)`)
    }
  }
}

/** Reads the entry mix's admin /metrics, for the client's anonymity set (src/client/entry-report.ts). */
function entryMetricsAt (adminUrl: string): () => Promise<ParsedMetrics> {
  return async () => (await fetchStatus(adminUrl, { timeoutMs: 5000 })).metrics
}

/** The client's fail-closed rule from its config (src/client/shaping/fail-closed-gate.ts). */
function clientFailClosed (config: ClientConfig, configFile: string): FailClosedSettings {
  if (config.recoveryHoldMaxMs < config.recoveryHoldMs) {
    throw fieldError(configFile, 'recoveryHoldMaxMs', `must be at least recoveryHoldMs (${config.recoveryHoldMs}), got ${config.recoveryHoldMaxMs}`)
  }
  return { mode: config.failClosed, alarmWindowMs: config.alarmWindowMs, holdMs: config.recoveryHoldMs, maxHoldMs: config.recoveryHoldMaxMs }
}
