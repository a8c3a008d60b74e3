/**
 * The JSON Schema of node config files, generated from the zod schemas the nodes validate
 * with (`z.toJSONSchema`), and published as docs/mixgate.conf.schema.json so that editors can
 * check a config file while it is written (VS Code: `"json.schemas": [{ "fileMatch":
 * ["mixgate*.json"], "url": "./docs/mixgate.conf.schema.json" }]`).
 *
 *   npm run schema     # rewrites docs/mixgate.conf.schema.json after a spec changed
 *
 * test/cli/check-config.test.ts checks that the published file is what this writes. The
 * schema describes the input: types, ranges, enumerations, lengths, defaults, required and
 * unknown fields. What only code can check (HOST:PORT syntax, policy rules, base64 that
 * re-encodes to itself, shaping against roundMs) is left to `mixgate check-config`.
 */
import { writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { z } from 'zod'
import { roleConfigSpec } from './role-config.js'

/** The JSON Schema (draft 2020-12) a config file of any role fits. */
export function configJsonSchema (): Record<string, unknown> {
  const schema = z.toJSONSchema(roleConfigSpec, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>
  const { $schema, ...rest } = schema
  return {
    $schema,
    title: 'mixgate node config file (mixgate.conf(5))',
    description: 'Generated from src/cli/config by `npm run schema`; `mixgate check-config FILE` checks everything this does and more.',
    ...rest,
  }
}

/** The text of docs/mixgate.conf.schema.json. */
export function configJsonSchemaText (): string {
  return JSON.stringify(configJsonSchema(), null, 2) + '\n'
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const target = process.argv[2]
  if (target === undefined) {
    process.stdout.write(configJsonSchemaText())
  } else {
    await writeFile(target, configJsonSchemaText())
  }
}
