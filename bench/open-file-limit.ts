/**
 * The open-file limit `mixgate up` runs with in the bench. A stream through `up` holds two
 * descriptors (the app's connection at the client, the exit's outbound one), and the client's
 * doors refuse past half of what the limit leaves (src/client/door-cap.ts), so at this
 * machine's usual 20 000 the held-streams phase stops near 9 700. Node cannot setrlimit; when
 * prlimit(1) is there and may raise a hard limit (root with CAP_SYS_RESOURCE), `up` is
 * started under `prlimit --nofile=65536:65536`, which execs node with the pid kept (the bench
 * reads /proc/PID). Root without CAP_SYS_RESOURCE (a container) cannot either, so a trial
 * run on `true` decides. Otherwise `up` inherits the bench's limit, and the log says so.
 */
import { spawnSync } from 'node:child_process'

export const UP_OPEN_FILES = 65_536

/** The wrapper for startChild, or undefined when the limit cannot be raised here. */
export function upLimitWrapper (): readonly string[] | undefined {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return undefined
  // Root is not enough in a container without CAP_SYS_RESOURCE: try it on `true` first.
  const probe = spawnSync('prlimit', [`--nofile=${UP_OPEN_FILES}:${UP_OPEN_FILES}`, '--', 'true'], { stdio: 'ignore' })
  if (probe.error !== undefined || probe.status !== 0) return undefined
  return ['prlimit', `--nofile=${UP_OPEN_FILES}:${UP_OPEN_FILES}`, '--']
}
