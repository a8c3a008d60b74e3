/**
 * What the client's log says when loop alarms close it to new streams and when its probes
 * open it again (fail-closed-gate.ts; docs/CLIENT.md "Loop accounting"). Counted per interval
 * like every repeated event (client-log.ts, R19): the lines say how many incidents and how long
 * a hold, never which circuit or when a probe went.
 */
import type { ClientLog } from './client-log.js'
import type { FailClosedEpisode } from './shaping/fail-closed-gate.js'

export function logFailClosed (events: ClientLog, episode: FailClosedEpisode): void {
  const restart = !Number.isFinite(episode.holdMs)
  events.errors.count('loop.fail_closed', {
    reason: restart
      ? `${episode.counted} loop alarms: new streams are refused, cover continues; failClosed is untilRestart: check the cascade and restart the client`
      : `${episode.counted} loop incidents within alarmWindowMs: new streams are refused, cover continues`,
    episode: episode.episode,
    retest: restart
      ? 'never (restart the client)'
      : `re-opens once its probes come back on time for ${Math.ceil(episode.holdMs / 1000)} s with no alarm`,
  })
}

/** At warn, not info: a log that shows the fail_closed error shows its end too. */
export function logRecovered (events: ClientLog, closedMs: number): void {
  events.warnings.count('loop.recovered', { closedS: Math.ceil(closedMs / 1000), note: 'loop probes back on time: new streams are taken again' })
}
