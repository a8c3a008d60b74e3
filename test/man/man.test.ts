/**
 * The man pages in man/ (installed by `npm install -g` through package.json's `man` field):
 * both render with `man -l` and groff without a single warning, pass `mandoc -T lint` where
 * mandoc is installed, and stay in step with the code: every subcommand of the help table
 * (src/cli/help.ts) and each flag in its usage is in mixgate(1), and every top-level field
 * of each role's config spec (src/cli/config/) is documented in mixgate.conf(5) — and no
 * field that the specs do not have. The specs' fields are read from their JSON Schema.
 *
 * Needs man-db and groff (Debian packages man-db, groff-base; .ci/run installs them): if one
 * is missing the tests fail and say so, since a missing tool must not pass as a clean page.
 * mandoc is optional here, and skipped with a reason when absent (.ci/run installs it too).
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { constants } from 'node:fs'
import { access, readFile } from 'node:fs/promises'
import { delimiter, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { COMMAND_HELP } from '../../src/cli/help.js'
import { clientConfigSpec } from '../../src/cli/config/client-config.js'
import { exitConfigSpec } from '../../src/cli/config/exit-config.js'
import { mixConfigSpec } from '../../src/cli/config/mix-config.js'
import { z } from 'zod'
import { ConfigError, validate, type ConfigIssue, type Spec } from '../../src/base/schema.js'

const MAN_DIR = fileURLToPath(new URL('../../../man/', import.meta.url))
const PAGES = ['mixgate.1', 'mixgate.conf.5'] as const
const WIDTH = 80

interface Run { readonly code: number, readonly stdout: string, readonly stderr: string }

class MissingTool extends Error {}

/** Run `command` with `env`; MissingTool if it is not installed. */
function run (command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { env, timeout: 30_000, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      if (err !== null && (err as NodeJS.ErrnoException).code === 'ENOENT') {
        return reject(new MissingTool(`${command} is not installed: apt-get install -y man-db mandoc groff-base`))
      }
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1
      resolve({ code, stdout, stderr })
    })
  })
}

/** Whether `command` is an executable file in one of PATH's directories. */
async function installed (command: string): Promise<boolean> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue
    try {
      await access(join(dir, command), constants.X_OK)
      return true
    } catch {}
  }
  return false
}

/**
 * `man -l PAGE` as a reader gets it in a pipe: MANWIDTH columns, no pager, and formatting
 * stripped (MAN_KEEP_FORMATTING unset). `--warnings` makes man pass groff's warnings on to
 * standard error, which man -l otherwise hides.
 */
function renderWithMan (page: string): Promise<Run> {
  // C.UTF-8 exists on every glibc system: a LANG naming a locale that is not generated would
  // make man warn on standard error about the locale, not about the page.
  const env: NodeJS.ProcessEnv = { ...process.env, MANWIDTH: String(WIDTH), MANPAGER: 'cat', PAGER: 'cat', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' }
  delete env.MAN_KEEP_FORMATTING
  delete env.MANOPT
  return run('man', ['--warnings=all', '-l', MAN_DIR + page], env)
}

/** Rendered text with typographic hyphens and minus signs as the ASCII '-' a reader types. */
function plain (text: string): string {
  return text.replace(/[\u2010\u2011\u2212]/g, '-')
}

/** The rendered lines of the top-level section `name` (its heading is at column 0). */
function renderedSection (text: string, name: string): string[] {
  const lines = text.split('\n')
  const start = lines.indexOf(name)
  if (start < 0) return []
  const end = lines.findIndex((line, i) => i > start && /^[A-Z]/.test(line))
  return lines.slice(start + 1, end < 0 ? undefined : end)
}

/**
 * The tags of `.TP` entries written as `.B NAME` (the way the field lists are written), by
 * `.SH` section of the roff source.
 */
function tagsBySection (source: string): Map<string, string[]> {
  const sections = new Map<string, string[]>()
  let section = ''
  const lines = source.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const heading = /^\.SH\s+"?([^"]+)"?\s*$/.exec(lines[i]!)
    if (heading !== null) {
      section = heading[1]!.trim()
      sections.set(section, [])
      continue
    }
    if (lines[i] !== '.TP') continue
    const tag = /^\.B\s+(\S+)\s*$/.exec(lines[i + 1] ?? '')
    if (tag !== null) sections.get(section)?.push(tag[1]!.replace(/\\-/g, '-'))
  }
  return sections
}

/** The issues `validate` reports for `value` (none when it is valid). */
function issuesOf (spec: Spec<unknown>, value: unknown): readonly ConfigIssue[] {
  try {
    validate(spec, value)
    return []
  } catch (err) {
    if (err instanceof ConfigError) return err.issues
    throw err
  }
}

/**
 * The top-level field names a config spec knows, from its JSON Schema (zod's
 * `toJSONSchema`, as published). Each is then confirmed by the validator itself (it does not
 * call it an unknown field), so the schema and the checks cannot drift apart unnoticed.
 */
function specFields (spec: Spec<unknown>): string[] {
  const schema = z.toJSONSchema(spec, { io: 'input', unrepresentable: 'any' }) as { properties?: Record<string, unknown> }
  return Object.keys(schema.properties ?? {}).filter((name) => {
    const issues = issuesOf(spec, { [name]: Symbol('probe value') })
    return !issues.some((issue) => issue.path === name && issue.message.startsWith('unknown config field'))
  }).sort()
}

/** Fields `spec` says are required when the object is empty. */
function requiredFields (spec: Spec<unknown>): string[] {
  return issuesOf(spec, {}).filter((issue) => issue.message.endsWith(': required')).map((issue) => issue.path).sort()
}

const SPECS = { mix: mixConfigSpec, exit: exitConfigSpec, client: clientConfigSpec } as Record<string, Spec<unknown>>

for (const page of PAGES) {
  t.test(`man -l ${page} renders at ${WIDTH} columns without warnings`, async (t) => {
    const source = await readFile(MAN_DIR + page, 'utf8')
    t.notOk(/[^\x00-\x7f]/.test(source), 'the source is ASCII (other characters are written as roff escapes)')
    const { code, stdout, stderr } = await renderWithMan(page)
    t.equal(code, 0, 'man exits 0')
    t.equal(stderr, '', 'man and groff print no warning')
    const text = plain(stdout)
    t.match(text, /^NAME\n {7}mixgate/m, 'has a NAME section naming mixgate')
    const wide = text.split('\n').filter((line) => [...line].length > WIDTH)
    t.same(wide, [], `no rendered line is wider than ${WIDTH} columns`)
  })

  t.test(`groff -man -ww finds nothing to warn about in ${page}`, async (t) => {
    const { code, stdout, stderr } = await run('groff', ['-man', '-Tutf8', '-ww', '-z', MAN_DIR + page])
    t.equal(code, 0, 'groff exits 0')
    t.equal(stderr + stdout, '', 'groff prints no warning')
  })

  const noMandoc = await installed('mandoc') ? false : 'mandoc is not installed (Debian package mandoc; .ci/run installs it)'
  t.test(`mandoc -T lint finds nothing in ${page}`, { skip: noMandoc }, async (t) => {
    const { code, stdout, stderr } = await run('mandoc', ['-T', 'lint', MAN_DIR + page])
    t.equal(stdout + stderr, '', 'mandoc reports no message of any level')
    t.equal(code, 0, 'mandoc exits 0')
  })
}

t.test('mixgate(1) documents every subcommand of the help table and the flags in its usage', async (t) => {
  const text = plain((await renderWithMan('mixgate.1')).stdout)
  const commands = renderedSection(text, 'COMMANDS')
  const headings = commands.filter((line) => /^ {3}\S/.test(line)).map((line) => line.trim())
  const flat = text.replace(/\s+/g, ' ')
  t.ok(Object.keys(COMMAND_HELP).length > 0, 'the help table lists commands')
  for (const [name, help] of Object.entries(COMMAND_HELP)) {
    t.ok(headings.some((heading) => heading === `mixgate ${name}` || heading.startsWith(`mixgate ${name} `)),
      `COMMANDS has a subsection for mixgate ${name}`)
    for (const flag of help.usage.match(/--[a-z][a-z0-9-]*/g) ?? []) {
      t.ok(flat.includes(flag), `${flag} of mixgate ${name} is documented`)
    }
  }
  for (const flag of ['--help', '--version', '-h', '-v']) t.ok(flat.includes(flag), `${flag} is documented`)
  for (const section of ['SYNOPSIS', 'SIGNALS', 'EXIT STATUS', 'FILES', 'EXAMPLES', 'SECURITY', 'SEE ALSO']) {
    t.ok(renderedSection(text, section).length > 0, `has a ${section} section`)
  }
})

t.test('the config spec probe finds the fields the specs have', async (t) => {
  for (const [role, spec] of Object.entries(SPECS)) {
    const fields = specFields(spec)
    t.ok(fields.includes('role'), `${role}: finds "role"`)
    for (const name of requiredFields(spec)) t.ok(fields.includes(name), `${role}: finds required field "${name}"`)
    const issues = issuesOf(spec, { noSuchField: 1 })
    t.ok(issues.some((issue) => issue.path === 'noSuchField'), `${role}: an unknown field is reported, so the confirmation step means something`)
  }
})

t.test('mixgate.conf(5) documents exactly the fields of each role\'s config spec', async (t) => {
  const tags = tagsBySection(await readFile(MAN_DIR + 'mixgate.conf.5', 'utf8'))
  const hopTags = tags.get('MIX AND EXIT FIELDS') ?? []
  const clientTags = tags.get('CLIENT FIELDS') ?? []
  const documented: Record<string, string[]> = { mix: hopTags, exit: hopTags, client: clientTags }
  const rendered = plain((await renderWithMan('mixgate.conf.5')).stdout)
  for (const [role, spec] of Object.entries(SPECS)) {
    for (const field of specFields(spec)) {
      t.ok(documented[role]!.includes(field), `${role} field "${field}" has an entry in mixgate.conf(5)`)
      t.match(rendered, new RegExp(`^ {7}${field}(?: |$)`, 'm'), `${role} field "${field}" shows as an entry when rendered`)
    }
  }
  const hopFields = new Set([...specFields(SPECS.mix!), ...specFields(SPECS.exit!)])
  const clientFields = new Set(specFields(SPECS.client!))
  const nested = /^log\./
  t.same(hopTags.filter((tag) => !hopFields.has(tag) && !nested.test(tag)), [], 'every mix/exit entry is a field of the mix or exit spec')
  t.same(clientTags.filter((tag) => !clientFields.has(tag) && !nested.test(tag)), [], 'every client entry is a field of the client spec')
})
