/**
 * `mixgate status --admin URL`: ask a running node's admin port how it is doing and print a
 * short summary (src/node/admin/status.ts) to standard output. Without --admin it asks the
 * client of the `mixgate up` running on this machine (recorded by up: running-up.ts); with
 * none running, or several, it says so and wants --admin.
 *
 * Exit status: 0 when the node answered (healthy or not: an unhealthy node is a status worth
 * seeing, and the summary says so), 1 when it could not be reached or did not answer like an
 * admin server, 2 for a command line without a usable URL (a `UsageError`, printed by main).
 */
import { fetchStatus, formatStatus } from '../../node/admin/status.js'
import { StatusError } from '../../node/admin/errors.js'
import { parseCommandArgs, stringOption } from '../args.js'
import { UsageError } from '../../base/usage-error.js'
import { findRunningUps } from '../../node/start/running-up.js'
import type { CommandContext } from './context.js'

export async function statusCommand (args: readonly string[], context: CommandContext): Promise<number> {
  const parsed = parseCommandArgs('status', args, { admin: { type: 'string' } })
  if (parsed.help) return context.showHelp('status')
  const admin = stringOption(parsed, 'admin') ?? await localUpAdmin()
  let status
  try {
    status = await fetchStatus(admin)
  } catch (err) {
    if (!(err instanceof StatusError)) throw err
    if (err.code === 'STATUS_BAD_URL') throw new UsageError(`mixgate status: --admin: ${err.message}`, 'status')
    context.err(`mixgate status: ${err.message} (${originOf(admin)})\n`)
    return 1
  }
  context.out(formatStatus(status))
  return 0
}

/** The admin URL of the one `mixgate up` running here; a UsageError if there is none, or several. */
async function localUpAdmin (): Promise<string> {
  const ups = await findRunningUps()
  if (ups.length === 1) return ups[0]!.admin
  const which = ups.length === 0
    ? 'no mixgate up is running on this machine'
    : `${ups.length} mixgate up are running here (admin ${ups.map((up) => up.admin).join(', ')})`
  throw new UsageError(`mixgate status: --admin is required: ${which} (give a node's admin URL, e.g. http://127.0.0.1:9101)`, 'status')
}

/** The scheme, host and port of the URL the operator gave (it parsed, or fetchStatus would have said so). */
function originOf (url: string): string {
  return new URL(url).origin
}
