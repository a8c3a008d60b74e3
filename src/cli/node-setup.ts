/**
 * From a validated config file to everything a node needs to start: the cascade it names,
 * its key pairs, and the options of `runMix`, `runExit` or `runClient`.
 *
 * Everything an operator can get wrong is checked here, before any port is opened, and
 * reported as a `ConfigError` naming the config field: the cascade file, the position (is
 * there a mix there?), the key files (readable, 32 bytes, and the keys the cascade lists for
 * this hop: a key file swapped with another node's would otherwise only show up as links
 * that never come up). `check-config` runs exactly this.
 */
import { getServers } from 'node:dns'
import { equal, memzero, x25519KeyPair, type KeyPair } from '../crypto/index.js'
import type { Cascade } from '../directory/cascade.js'
import type { RunClientOptions } from '../client/run-client.js'
import type { RunExitOptions } from '../exit/run-exit.js'
import type { RunMixOptions } from '../mix/run-mix.js'
import { readKeyFile } from '../node/config-file.js'
import { ConfigError } from '../node/config-error.js'
import type { LogLevel } from '../node/logger.js'
import { loadCascadeFile } from './cascade-file.js'
import { resolveFrom } from './config/common-fields.js'
import type { RoleConfig } from './config/role-config.js'

export interface LogSettings {
  readonly level: LogLevel
  readonly format: 'text' | 'json'
}

/** A node ready to start: what `runMix`/`runExit`/`runClient` take, minus the logger. */
export type NodeSetup =
  | { readonly role: 'mix', readonly label: string, readonly log: LogSettings, readonly options: Omit<RunMixOptions, 'logger'> }
  | { readonly role: 'exit', readonly label: string, readonly log: LogSettings, readonly options: Omit<RunExitOptions, 'logger'> }
  | { readonly role: 'client', readonly label: string, readonly log: LogSettings, readonly options: Omit<RunClientOptions, 'logger'> }

/** Load what `config` (read from `configFile`) refers to and check it fits together. */
export async function setUpNode (config: RoleConfig, configFile: string): Promise<NodeSetup> {
  const cascadePath = resolveFrom(configFile, config.cascade)
  const cascade = await withField('cascade', configFile, () => loadCascadeFile(cascadePath))
  const log = config.log
  switch (config.role) {
    case 'mix': {
      const mixCount = cascade.hops.length - 1
      if (config.position > mixCount) {
        throw fieldError(configFile, 'position', `the cascade in ${JSON.stringify(cascadePath)} has ${mixCount === 1 ? 'one mix, at position 1' : `mixes at positions 1 to ${mixCount}`}, got ${config.position}`)
      }
      const { linkKey, onionKey } = await hopKeys(config, configFile, cascade, config.position, cascadePath)
      return {
        role: 'mix',
        label: `mix[${config.position}]`,
        log,
        options: {
          cascade,
          position: config.position,
          linkKey,
          onionKey,
          minBatch: config.minBatch,
          ...(config.listen === undefined ? {} : { listen: config.listen }),
          ...(config.replayCapacity === undefined ? {} : { replayCapacity: config.replayCapacity }),
          ...(config.circuitIdleS === undefined ? {} : { circuitIdleMs: config.circuitIdleS * 1000 }),
        },
      }
    }
    case 'exit': {
      const { linkKey, onionKey } = await hopKeys(config, configFile, cascade, cascade.hops.length, cascadePath)
      const dnsServers = config.dnsServers ?? getServers()
      if (dnsServers.length === 0) {
        throw fieldError(configFile, 'dnsServers', 'not set, and this host has no DNS servers configured: list the servers the exit should ask')
      }
      return {
        role: 'exit',
        label: 'exit',
        log,
        options: {
          cascade,
          linkKey,
          onionKey,
          exitPolicy: config.exitPolicy,
          dnsServers,
          ...(config.listen === undefined ? {} : { listen: config.listen }),
          ...(config.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: config.connectTimeoutMs }),
          ...(config.replayCapacity === undefined ? {} : { replayCapacity: config.replayCapacity }),
          ...(config.circuitIdleS === undefined ? {} : { circuitIdleMs: config.circuitIdleS * 1000 }),
        },
      }
    }
    case 'client':
      return {
        role: 'client',
        label: 'client',
        log,
        options: {
          cascade,
          socks: config.socks,
          auth: { none: config.auth.includes('none'), userPass: config.auth.includes('userpass') },
          safeSocks: config.safeSocks,
          streamTimeoutMs: config.streamTimeoutMs,
        },
      }
  }
}

/** The link and onion key pairs of hop `position`, checked against the cascade's public keys. */
async function hopKeys (
  config: { readonly linkKeyFile: string, readonly onionKeyFile: string },
  configFile: string, cascade: Cascade, position: number, cascadePath: string,
): Promise<{ linkKey: KeyPair, onionKey: KeyPair }> {
  const hop = cascade.hops[position - 1]!
  const linkKey = await keyPairFrom('linkKeyFile', config.linkKeyFile, configFile)
  const onionKey = await keyPairFrom('onionKeyFile', config.onionKeyFile, configFile)
  const where = `hop ${position} (${position === cascade.hops.length ? 'the exit' : `mix ${position}`}) of the cascade in ${JSON.stringify(cascadePath)}`
  if (!equal(linkKey.publicKey, hop.linkKey)) {
    throw fieldError(configFile, 'linkKeyFile', `the key in ${JSON.stringify(resolveFrom(configFile, config.linkKeyFile))} is not the link key of ${where}`)
  }
  if (!equal(onionKey.publicKey, hop.onionKey)) {
    throw fieldError(configFile, 'onionKeyFile', `the key in ${JSON.stringify(resolveFrom(configFile, config.onionKeyFile))} is not the onion key of ${where}`)
  }
  return { linkKey, onionKey }
}

async function keyPairFrom (field: string, path: string, configFile: string): Promise<KeyPair> {
  const secret = await withField(field, configFile, () => readKeyFile(resolveFrom(configFile, path), 32))
  try {
    return x25519KeyPair(secret)
  } finally {
    memzero(secret) // x25519KeyPair keeps its own copy
  }
}

/** Run `load`; a ConfigError it throws is re-thrown with the config field in front. */
async function withField<T> (field: string, configFile: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load()
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    throw new ConfigError(err.code, `config file ${JSON.stringify(configFile)}: config field ${JSON.stringify(field)}: ${err.message}`,
      { file: configFile, cause: err, issues: [{ path: field, message: err.message }] })
  }
}

function fieldError (configFile: string, field: string, problem: string): ConfigError {
  return ConfigError.fromIssues([{ path: field, message: `config field ${JSON.stringify(field)}: ${problem}` }], configFile)
}
