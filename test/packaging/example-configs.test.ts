/**
 * The example configs the Debian package puts in /etc/mixgate (packaging/deb/etc/) are valid
 * configs of their role, field for field (the schema check of `mixgate check-config`; the
 * files they name, keys and cascade, exist only on a deployed host), and they are the
 * README's examples: the addresses of its deployment walk-through.
 */
import t from 'tap'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { clientConfigSpec } from '../../src/cli/config/client-config.js'
import { exitConfigSpec } from '../../src/cli/config/exit-config.js'
import { mixConfigSpec } from '../../src/cli/config/mix-config.js'
import { validate, type Spec } from '../../src/base/schema.js'
import { REPO } from './repo-copy.js'

const EXAMPLES: Record<string, Spec<unknown>> = {
  'mix.json.example': mixConfigSpec as Spec<unknown>,
  'exit.json.example': exitConfigSpec as Spec<unknown>,
  'client.json.example': clientConfigSpec as Spec<unknown>,
}

const readme = await readFile(join(REPO, 'README.md'), 'utf8')

for (const [name, spec] of Object.entries(EXAMPLES)) {
  t.test(`${name} is a valid ${name.split('.')[0]} config with the README's addresses`, async (t) => {
    const config = JSON.parse(await readFile(join(REPO, 'packaging/deb/etc', name), 'utf8')) as Record<string, unknown>
    t.doesNotThrow(() => validate(spec, config), 'validates against its role\'s spec')
    for (const field of ['address', 'cascadeUrl', 'keyDir'] as const) {
      const value = config[field]
      if (typeof value === 'string') t.ok(readme.includes(value), `${field} ${value} is the README's`)
    }
  })
}
