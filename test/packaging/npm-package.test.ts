/**
 * The npm package (issue #16): `npm pack` on a checkout with no dist/ builds first
 * (prepack), and the tarball holds exactly what runs — the compiled program (one .js per
 * source file, no maps, no tests), bin, man pages, units, docs, README, package.json and
 * the dependency lock as npm-shrinkwrap.json. Then `npm install -g` of that tarball into a
 * temp prefix (never the system's), and the installed copy runs: --version, keygen, a short
 * `up` with curl through it, check-config, and `man mixgate` finds its page in the prefix.
 *
 * Dependencies come from the npm cache that `npm ci` filled (--prefer-offline), the
 * registry only for what the cache lacks. Needs curl and man-db (.ci/run installs them).
 */
import t from 'tap'
import { readdir, readFile } from 'node:fs/promises'
import { delimiter, join, relative } from 'node:path'
import { copyRepo, tempDir } from './repo-copy.js'
import { installedSmoke } from './installed-smoke.js'
import { cleanNpmEnv, described, run } from './run.js'
import { allowFileTime } from './file-time-limit.js'

// Packing compiles src/ and installing copies ~60 packages: 40 to 80 s here, longer on a
// loaded machine than the two minutes .taprc gives a file.
allowFileTime(t, 300_000)

/** Every file below `dir`, as paths relative to `base`. */
async function filesBelow (dir: string, base: string): Promise<string[]> {
  const found: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) found.push(...await filesBelow(path, base))
    else found.push(relative(base, path))
  }
  return found
}

/** What the tarball must hold, from the copy's sources: nothing more, nothing less. */
async function expectedFiles (repo: string): Promise<string[]> {
  const program = (await filesBelow(join(repo, 'src'), repo))
    .filter((path) => path.endsWith('.ts') && !path.endsWith('.d.ts'))
    .map((path) => `dist/${path.replace(/\.ts$/, '.js')}`)
  const shipped = []
  for (const dir of ['bin', 'man', 'systemd', 'docs']) shipped.push(...await filesBelow(join(repo, dir), repo))
  return [...program, ...shipped, 'README.md', 'package.json', 'npm-shrinkwrap.json'].sort()
}

const repo = await copyRepo(t)
const work = await tempDir(t, 'mixgate-npm-')
const version = (JSON.parse(await readFile(join(repo, 'package.json'), 'utf8')) as { version: string }).version
const tarball = join(work, `mixgate-${version}.tgz`)
const prefix = join(work, 'prefix')
const npmEnv = cleanNpmEnv()

t.test('npm pack builds the program first and packs exactly what runs', async (t) => {
  const packed = await run('npm', ['pack', '--pack-destination', work], { cwd: repo, env: npmEnv, timeoutMs: 180_000 })
  t.equal(packed.code, 0, `npm pack exits 0 (${described(packed)})`)
  const listed = await run('tar', ['-tzf', tarball])
  t.equal(listed.code, 0, `the tarball ${tarball} reads (${described(listed)})`)
  const files = listed.stdout.trim().split('\n').map((line) => line.replace(/^package\//, '')).sort()
  t.same(files, await expectedFiles(repo), 'compiled program, bin, man, units, docs, README, package.json, shrinkwrap; no maps, tests or sources')
  t.ok(files.includes('dist/src/cli/main.js'), 'the file bin/mixgate loads is there')
  const shrinkwrapLeft = await readFile(join(repo, 'npm-shrinkwrap.json')).then(() => true, () => false)
  t.notOk(shrinkwrapLeft, 'postpack removed npm-shrinkwrap.json from the checkout (package-lock.json stays the one to edit)')
})

t.test('npm install -g of the tarball into a temp prefix installs a mixgate that runs', async (t) => {
  const installed = await run('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball],
    { env: npmEnv, timeoutMs: 180_000 })
  t.equal(installed.code, 0, `npm install -g exits 0 (${described(installed)})`)
  const lib = join(prefix, 'lib', 'node_modules', 'mixgate')
  const shipped = await readFile(join(lib, 'package.json'), 'utf8').then(JSON.parse) as { version: string }
  t.equal(shipped.version, version, `installed in ${lib}`)
  await installedSmoke(t, join(prefix, 'bin', 'mixgate'), work, version)
})

t.test('man mixgate and man 5 mixgate.conf find the pages of the installed prefix', async (t) => {
  // man-db derives its search path from PATH: PREFIX/bin in PATH brings PREFIX/share/man.
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: [join(prefix, 'bin'), process.env.PATH ?? ''].join(delimiter), MANPAGER: 'cat', PAGER: 'cat', MANWIDTH: '80', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' }
  delete env.MANPATH
  for (const [section, page] of [['1', 'mixgate'], ['5', 'mixgate.conf']] as const) {
    const where = await run('man', ['-w', section, page], { env, missing: 'apt-get install -y man-db' })
    t.equal(where.code, 0, `man -w ${section} ${page} finds it (${described(where)})`)
    t.ok(where.stdout.startsWith(prefix + '/'), `from the prefix: ${where.stdout.trim()}`)
    const shown = await run('man', [section, page], { env })
    t.equal(shown.code, 0, `man ${section} ${page} exits 0`)
    t.match(shown.stdout, new RegExp(`^NAME\\n {7}${page.replace('.', '\\.')} `, 'm'), 'renders its NAME section')
  }
})
