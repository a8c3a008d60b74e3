/**
 * The client's repeated events (alarms, refused SOCKS requests, circuits it cannot build),
 * logged as counts per interval, one aggregator per level (R19, src/base/log-aggregate.ts): a
 * line per alarm with its time would tell a hop's log which circuit was this user's. Each
 * event is still written at debug. Events that happen once per process or per entry link
 * (entry.connected, entry.lost) are logged as they happen, by the caller.
 */
import { LogAggregator } from '../base/log-aggregate.js'
import type { Logger } from '../base/logger.js'

export class ClientLog {
  readonly errors: LogAggregator
  readonly warnings: LogAggregator
  readonly notices: LogAggregator

  /** `intervalMs`: how often the counts are written (default the aggregator's, a minute). */
  constructor (logger: Logger, intervalMs?: number) {
    const every = intervalMs === undefined ? {} : { intervalMs }
    this.errors = new LogAggregator(logger, { level: 'error', ...every })
    this.warnings = new LogAggregator(logger, { level: 'warn', ...every })
    this.notices = new LogAggregator(logger, { level: 'info', ...every })
  }

  /** Write what was counted and stop the timers (the client stops). */
  close (): void {
    this.errors.close()
    this.warnings.close()
    this.notices.close()
  }
}
