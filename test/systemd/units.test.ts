/**
 * The systemd units in systemd/: `systemd-analyze verify` finds nothing wrong with them,
 * `systemd-analyze security --offline=true` rates each one OK or better (exposure < 4.0),
 * and each runs the command and keeps the R14 limits the docs promise.
 *
 * Needs systemd-analyze (Debian package `systemd`; it works without systemd running). If
 * it is missing, the tests fail and say so: a missing tool must not pass as clean units.
 *
 * verify checks that ExecStart's binary exists, and the real units name `mixgate`, which
 * systemd finds in /usr/local/bin or /usr/bin only after `npm install -g`. So verify runs on
 * a copy in a temp dir whose ExecStart names this checkout's bin/mixgate by absolute path
 * instead (the one line that differs; the test checks that). The template is copied as an
 * instance, mixgate-mix@mix1.service, so %i is expanded as in a real start. `--man=no`: the
 * Documentation= man pages exist only once the package is installed.
 * security reads the real, untouched unit files.
 */
import t, { type Test } from 'tap'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const UNIT_DIR = fileURLToPath(new URL('../../../systemd/', import.meta.url))
const BIN = fileURLToPath(new URL('../../../bin/mixgate', import.meta.url))
const MISSING = 'systemd-analyze is not installed: install the Debian package "systemd" (apt-get install -y systemd)'

interface Unit {
  /** The file in systemd/. */
  readonly file: string
  /** The name the verify copy gets (an instance for the template). */
  readonly instance: string
  /** The ExecStart the CLI contract asks for (after `mixgate`). */
  readonly command: string
  readonly stateDirectory: string
}

const UNITS: Unit[] = [
  { file: 'mixgate-client.service', instance: 'mixgate-client.service', command: 'client --config /etc/mixgate/client.json', stateDirectory: 'mixgate/client' },
  { file: 'mixgate-mix@.service', instance: 'mixgate-mix@mix1.service', command: 'mix --config /etc/mixgate/%i.json', stateDirectory: 'mixgate/%i' },
  { file: 'mixgate-exit.service', instance: 'mixgate-exit.service', command: 'exit --config /etc/mixgate/exit.json', stateDirectory: 'mixgate/exit' },
]

/** Ratings `systemd-analyze security` gives an exposure below 4.0, best first. */
const GOOD_RATINGS = ['PERFECT', 'SAFE', 'OK']

interface Run { readonly code: number, readonly stdout: string, readonly stderr: string }

/** Run systemd-analyze without colours or pager; reject with MISSING if it is not installed. */
function analyze (args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, SYSTEMD_COLORS: '0', SYSTEMD_PAGER: '', SYSTEMD_LOG_COLOR: '0' }
    execFile('systemd-analyze', args, { env, timeout: 30_000 }, (err, stdout, stderr) => {
      if (err !== null && (err as NodeJS.ErrnoException).code === 'ENOENT') return reject(new Error(MISSING))
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1
      resolve({ code, stdout, stderr })
    })
  })
}

/** The values of `key=` in a unit file, comments and blank lines skipped. */
function settings (text: string, key: string): string[] {
  return text.split('\n')
    .filter((line) => line.startsWith(`${key}=`))
    .map((line) => line.slice(key.length + 1))
}

/** `path` as a unit file's ExecStart word: quoted (a checkout may live under a name with spaces), `%` escaped. */
function unitPath (path: string): string {
  return `"${path.replace(/%/g, '%%')}"`
}

/** Copy `unit` into a temp dir as its instance name, with ExecStart pointing at bin/mixgate. */
async function verifyCopy (t: Test, unit: Unit): Promise<{ path: string, original: string, copy: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'mixgate-units-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const original = await readFile(join(UNIT_DIR, unit.file), 'utf8')
  const copy = original.replace(/^ExecStart=mixgate /m, `ExecStart=${unitPath(BIN)} `)
  const path = join(dir, unit.instance)
  await writeFile(path, copy)
  return { path, original, copy }
}

t.test('systemd-analyze is installed (Debian package: systemd)', async (t) => {
  const run = await analyze(['--version']).catch((err: Error) => err)
  if (run instanceof Error) return t.fail(run.message)
  t.equal(run.code, 0, 'systemd-analyze --version runs')
})

for (const unit of UNITS) {
  t.test(`${unit.file} runs \`mixgate ${unit.command}\` and keeps state in /var/lib/${unit.stateDirectory}`, async (t) => {
    const text = await readFile(join(UNIT_DIR, unit.file), 'utf8')
    t.same(settings(text, 'ExecStart'), [`mixgate ${unit.command}`], 'ExecStart')
    t.same(settings(text, 'ExecReload'), ['/bin/kill -HUP $MAINPID'], 'SIGHUP reloads')
    t.same(settings(text, 'StateDirectory'), [unit.stateDirectory], 'StateDirectory')
    t.same(settings(text, 'ConfigurationDirectory'), ['mixgate'], 'ConfigurationDirectory')
  })

  t.test(`${unit.file} raises the open-file limit (issue #17: a descriptor per stream)`, async (t) => {
    const text = await readFile(join(UNIT_DIR, unit.file), 'utf8')
    t.same(settings(text, 'LimitNOFILE'), ['65536'], 'LimitNOFILE')
  })

  t.test(`${unit.file} leaves the memory settings to the launcher it runs (issue #17)`, async (t) => {
    // ExecStart=mixgate runs bin/mixgate, whose shell lines preload jemalloc and give node
    // --max-semi-space-size (test/cli/launcher-settings.test.ts) after NODE_OPTIONS: an
    // Environment= NODE_OPTIONS with the same flag here would look set and do nothing, and an
    // LD_PRELOAD here would load a second allocator beside the launcher's.
    const text = await readFile(join(UNIT_DIR, unit.file), 'utf8')
    const launcher = await readFile(BIN, 'utf8')
    t.match(launcher, 'exec node --max-semi-space-size=2', 'the launcher gives the flag')
    t.match(launcher, 'LD_PRELOAD="libjemalloc.so.2', 'and preloads jemalloc')
    t.same(settings(text, 'Environment').filter((value) => /NODE_OPTIONS|LD_PRELOAD|MALLOC_/.test(value)), [], 'no Environment= the launcher overrides or doubles')
    t.match(text, /launcher \(bin\/mixgate\) preloads jemalloc/, 'the unit says where they come from')
  })

  t.test(`${unit.file} forbids core dumps and swap, and leaves MemoryDenyWriteExecute off for V8 (R14)`, async (t) => {
    const text = await readFile(join(UNIT_DIR, unit.file), 'utf8')
    t.same(settings(text, 'LimitCORE'), ['0'], 'no core dumps')
    t.same(settings(text, 'MemorySwapMax'), ['0'], 'no swap')
    t.same(settings(text, 'MemoryDenyWriteExecute'), ['no'], 'Node aborts at start with it on')
  })

  t.test(`systemd-analyze verify finds nothing to say about ${unit.instance}`, async (t) => {
    const { path, original, copy } = await verifyCopy(t, unit)
    const changed = copy.split('\n').filter((line, i) => line !== original.split('\n')[i])
    t.same(changed, [`ExecStart=${unitPath(BIN)} ${unit.command}`], 'the copy differs only in the ExecStart path')
    // verify also loads the units ours depend on from the host (network-online.target, …):
    // only lines about our unit count, and none may appear.
    const run = await analyze(['verify', '--man=no', path])
    const aboutUnit = `${run.stdout}\n${run.stderr}`.split('\n').filter((line) => line.includes(unit.instance))
    t.same(aboutUnit, [], 'no warning or error about the unit')
    t.equal(run.code, 0, `verify exits 0 (stderr: ${run.stderr.trim() || 'empty'})`)
  })

  t.test(`systemd-analyze security rates ${unit.file} OK or better, exposure below 4.0`, async (t) => {
    const run = await analyze(['security', '--offline=true', '--no-pager', join(UNIT_DIR, unit.file)])
    t.equal(run.code, 0, `security exits 0 (stderr: ${run.stderr.trim() || 'empty'})`)
    const last = run.stdout.trim().split('\n').at(-1) ?? ''
    // "→ Overall exposure level for mixgate-exit.service: 1.1 OK 🙂" (the template is rated as mixgate-mix@i)
    const match = /Overall exposure level for (\S+): (\d+\.\d+) (\w+)/.exec(last)
    if (match === null) return t.fail(`no overall exposure line in: ${last}`)
    const [, name, exposure, rating] = match
    t.equal(name, unit.file.replace('@.', '@i.'), 'the rating is for this unit')
    t.ok(Number(exposure) < 4.0, `exposure ${exposure} is below 4.0`)
    t.ok(GOOD_RATINGS.includes(rating!), `rating ${rating} is OK or better`)
  })
}
