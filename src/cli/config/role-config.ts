/**
 * A node config file of any role: the `role` field picks the schema the rest is checked
 * against, so that `check-config` takes any file and the role commands can say "this is an
 * exit config" instead of listing every field the file has and a mix does not.
 */
import { loadConfigFile } from '../../base/config-file.js'
import { ConfigError } from '../../base/config-error.js'
import { z } from 'zod'
import { oneOf, type Spec } from '../../base/schema.js'
import { clientConfigSpec, type ClientConfig } from './client-config.js'
import { exitConfigSpec, type ExitConfig } from './exit-config.js'
import { mixConfigSpec, type MixConfig } from './mix-config.js'

export type RoleConfig = MixConfig | ExitConfig | ClientConfig
export type Role = RoleConfig['role']

export const ROLES = ['mix', 'exit', 'client'] as const satisfies readonly Role[]

const roleSpecs: { readonly [R in Role]: Spec<Extract<RoleConfig, { role: R }>> } = {
  mix: mixConfigSpec,
  exit: exitConfigSpec,
  client: clientConfigSpec,
}

const roleNameSpec = oneOf(ROLES)

/**
 * Any role's config, checked against the schema its `role` names (a zod discriminated union;
 * also the JSON Schema published as docs/mixgate.conf.schema.json).
 */
export const roleConfigSpec: Spec<RoleConfig> = z.discriminatedUnion('role',
  Object.values(roleSpecs) as unknown as [z.ZodObject, z.ZodObject, z.ZodObject], {
    error: (issue) => {
      if (issue.code !== 'invalid_union') return 'expected an object with a "role" field'
      const role = (issue.input as Record<string, unknown>).role
      if (role === undefined) return `required (one of ${ROLES.map((r) => JSON.stringify(r)).join(', ')})`
      const problem = roleNameSpec.safeParse(role)
      return problem.success ? 'expected a valid config' : problem.error.issues[0]!.message
    },
  }) as unknown as Spec<RoleConfig>

/** Read and validate a node config file of any role (ConfigError naming the file otherwise). */
export async function loadRoleConfig (path: string): Promise<RoleConfig> {
  return loadConfigFile(path, roleConfigSpec)
}

/** Read a config file that must be of `role` (as the role subcommands do). */
export async function loadConfigOfRole<R extends Role> (path: string, role: R): Promise<Extract<RoleConfig, { role: R }>> {
  const config = await loadRoleConfig(path)
  if (config.role !== role) {
    throw new ConfigError('CONFIG_WRONG_ROLE',
      `config file ${JSON.stringify(path)} is for the ${config.role} role, not ${role}: run \`mixgate ${config.role} --config ${path}\``,
      { file: path, issues: [{ path: 'role', message: `config field "role": expected "${role}", got "${config.role}"` }] })
  }
  return config as Extract<RoleConfig, { role: R }>
}
