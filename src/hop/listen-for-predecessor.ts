/**
 * How a mix and the exit listen for their predecessor's links, as the cascade says: at the
 * hop's address (unless told otherwise), KK with the predecessor's key (NK at position 1,
 * where clients dial), the cascade's prologue, and a rekey every epoch. Refused handshakes
 * are counted per code per minute, never logged one by one: a line per connection would
 * record who tried when (R19).
 */
import { LogAggregator } from '../base/log-aggregate.js'
import type { HostPort } from '../base/address.js'
import type { Logger } from '../base/logger.js'
import type { KeyPair } from '../crypto/index.js'
import { linkPrologue, type Cascade } from '../directory/cascade.js'
import type { CellLink, CellLinkHandlers } from '../link/cell-link.js'
import type { LinkLimits } from '../link/limits.js'
import type { LinkListener } from '../link/listen.js'
import { acceptPredecessors } from '../link/predecessor.js'

export interface PredecessorListenOptions {
  readonly cascade: Cascade
  /** This hop's position in the cascade, 1-based. */
  readonly position: number
  readonly linkKey: KeyPair
  readonly logger: Logger
  /** Where to listen (default: this hop's address in the cascade). */
  readonly listen?: HostPort
  readonly linkLimits?: Partial<LinkLimits>
}

export interface PredecessorListener {
  readonly listener: LinkListener
  /** Stops listening, then flushes the refusal counts. */
  close (): Promise<void>
}

/** `attach`: the node takes each link and returns its handlers (HopCore.attachPredecessor). */
export async function listenForPredecessor (options: PredecessorListenOptions, attach: (link: CellLink) => CellLinkHandlers): Promise<PredecessorListener> {
  const { cascade, position } = options
  const rejected = new LogAggregator(options.logger, { level: 'info' })
  const listener = await acceptPredecessors({
    listen: options.listen ?? cascade.hops[position - 1]!.address,
    cellSize: cascade.geometry.cellSize,
    localStatic: options.linkKey,
    predecessorKey: position === 1 ? undefined : cascade.hops[position - 2]!.linkKey,
    prologue: linkPrologue(cascade, position),
    rekeyMs: cascade.params.epochS * 1000,
    ...(options.linkLimits === undefined ? {} : { limits: options.linkLimits }),
    attach,
    onReject: (err) => rejected.count('link.rejected', { code: err.code }),
    onRefuse: (code) => options.logger.debug('link.refused', { code }),
  })
  return {
    listener,
    async close () {
      await listener.close()
      rejected.close()
    },
  }
}
