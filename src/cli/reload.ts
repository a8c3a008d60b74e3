/**
 * SIGHUP for `mixgate mix|exit|client --config FILE`: read the config file again and apply
 * what can change without dropping a circuit — the log level, and the exit's policy (new
 * streams are checked against it; open ones are left alone). A client also fetches its
 * cascade again.
 *
 * Like Tor, a reload is all or nothing: a file that does not validate, or that changes a
 * field only a restart can change (keys, addresses, the cascade, the parameters…), is
 * refused as a whole, the node keeps running with the config it has, and the log says why.
 */
import { MixgateError } from '../errors.js'
import type { Logger } from '../base/logger.js'
import type { AdjustableLogger } from '../base/adjustable-logger.js'
import { loadConfigOfRole, type Role, type RoleConfig } from './config/role-config.js'
import type { StartedNode } from './start-node.js'

export class ReloadError extends MixgateError {}

/** Fields a reload may change, per role (dotted paths for nested ones). */
const RELOADABLE: Readonly<Record<Role, readonly string[]>> = {
  mix: ['log.level'],
  exit: ['log.level', 'exitPolicy'],
  client: ['log.level'],
}

/**
 * Re-read `file` and apply it to `node`; resolves with the config now in force. Throws (a
 * ConfigError or ReloadError) and applies nothing if the new file cannot be used.
 */
export async function reloadNode (file: string, role: Role, running: RoleConfig, node: StartedNode, logger: AdjustableLogger): Promise<RoleConfig> {
  const next = await loadConfigOfRole(file, role)
  const changed = changedFields(running, next)
  const fixed = changed.filter((field) => !RELOADABLE[role].includes(field))
  if (fixed.length > 0) {
    throw new ReloadError('CLI_RELOAD_REFUSED', `${fixed.map((f) => JSON.stringify(f)).join(', ')} cannot change while the node runs (restart it to apply); nothing was applied`)
  }
  if (changed.includes('exitPolicy') && next.role === 'exit') node.setExitPolicy!(next.exitPolicy)
  if (changed.includes('log.level')) logger.setLevel(next.log.level)
  logger.info('reload.applied', { changed: changed.length === 0 ? 'nothing' : changed.join(',') })
  if (node.refreshCascade !== undefined) await refreshCascade(node.refreshCascade, logger)
  return next
}

async function refreshCascade (refresh: () => Promise<void>, logger: Logger): Promise<void> {
  try {
    await refresh()
  } catch (err) {
    logger.warn('cascade.refresh_failed', { error: err })
  }
}

/** Top-level fields whose values differ, with `log` compared field by field. */
export function changedFields (a: RoleConfig, b: RoleConfig): string[] {
  const left = a as unknown as Record<string, unknown>
  const right = b as unknown as Record<string, unknown>
  const names = [...new Set([...Object.keys(left), ...Object.keys(right)])].sort()
  const out: string[] = []
  for (const name of names) {
    if (name === 'log') {
      for (const sub of ['level', 'format'] as const) if (a.log[sub] !== b.log[sub]) out.push(`log.${sub}`)
    } else if (JSON.stringify(left[name]) !== JSON.stringify(right[name])) {
      out.push(name)
    }
  }
  return out
}
