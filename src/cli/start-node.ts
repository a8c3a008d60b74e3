/**
 * Start one prepared node and say where it listens, with listen failures (a port in use)
 * turned into messages an operator can act on.
 */
import { runClient } from '../client/run-client.js'
import { MixgateError } from '../errors.js'
import { runExit } from '../exit/run-exit.js'
import { runMix } from '../mix/run-mix.js'
import { formatHostPort, type HostPort } from '../node/address.js'
import type { Logger } from '../node/logger.js'
import type { NodeSetup } from './node-setup.js'

export interface StartedNode {
  readonly role: NodeSetup['role']
  /** Where the node accepts connections (links, or SOCKS for the client), as HOST:PORT. */
  readonly listening: string
  /** For a mix: whether its link to the next hop is up. */
  readonly successorUp?: () => boolean
  /** For a client: resolves once the entry mix accepted its link. */
  readonly waitForEntry?: (timeoutMs: number) => Promise<void>
  stop (): Promise<void>
}

export class StartError extends MixgateError {}

/** Start the node `setup` describes; logs `node.started` with the role and listen address. */
export async function startNode (setup: NodeSetup, logger: Logger): Promise<StartedNode> {
  switch (setup.role) {
    case 'mix': {
      const where = setup.options.listen ?? setup.options.cascade.hops[setup.options.position - 1]!.address
      const mix = await listening(where, 'links', () => runMix({ ...setup.options, logger }))
      logger.info('node.started', { role: 'mix', position: setup.options.position, hops: setup.options.cascade.hops.length, listen: formatHostPort(where) })
      return { role: 'mix', listening: formatHostPort(where), successorUp: () => mix.node.successorUp, stop: () => mix.stop() }
    }
    case 'exit': {
      const where = setup.options.listen ?? setup.options.cascade.hops[setup.options.cascade.hops.length - 1]!.address
      const exit = await listening(where, 'links', () => runExit({ ...setup.options, logger }))
      logger.info('node.started', { role: 'exit', hops: setup.options.cascade.hops.length, listen: formatHostPort(where), policyRules: setup.options.exitPolicy.length })
      return { role: 'exit', listening: formatHostPort(where), stop: () => exit.stop() }
    }
    case 'client': {
      const client = await listening(setup.options.socks, 'SOCKS5 connections', () => runClient({ ...setup.options, logger }))
      const socks = formatHostPort(client.socks)
      logger.info('node.started', { role: 'client', hops: setup.options.cascade.hops.length, socks })
      return { role: 'client', listening: socks, waitForEntry: (ms) => client.node.waitForEntry(ms), stop: () => client.stop() }
    }
  }
}

/** Run `start`; a listen failure becomes a StartError naming the address and the OS reason. */
async function listening<T> (where: HostPort, what: string, start: () => Promise<T>): Promise<T> {
  try {
    return await start()
  } catch (err) {
    if (err instanceof MixgateError && (err.code === 'LINK_LISTEN_FAILED' || err.code === 'SOCKS_LISTEN_FAILED')) {
      const os = (err.cause as { code?: unknown } | undefined)?.code ?? err.detail
      throw new StartError('CLI_LISTEN_FAILED', `cannot listen for ${what} on ${formatHostPort(where)}${osReason(os)}`, { cause: err })
    }
    throw err
  }
}

const OS_REASONS: Record<string, string> = {
  EADDRINUSE: 'the address is already in use',
  EADDRNOTAVAIL: 'the address is not one of this host\'s',
  EACCES: 'permission denied (ports below 1024 need privileges)',
}

function osReason (code: unknown): string {
  if (typeof code !== 'string') return ''
  const known = OS_REASONS[code]
  return known === undefined ? `: ${code}` : `: ${known} (${code})`
}
