/**
 * The Debian package (issue #16): `npm run deb` (packaging/deb/build.sh) builds
 * mixgate_<version>_all.deb; lintian finds nothing beyond the overrides it ships (each
 * explained there); dpkg installs it on this machine, with the files in their places, no
 * unit enabled or started, a mixgate that runs (the same checks as the npm package's), its
 * man pages, and units that `systemd-analyze verify` passes as installed; then remove keeps
 * the operator's state and conffiles, and purge leaves nothing of mixgate behind.
 *
 * Installing a package changes the machine, so this runs only as root (as CI does) with
 * dpkg present, and only where mixgate is not installed and has no files of its own: a host
 * with a real mixgate (whose keys purge would delete) is never touched. It purges the
 * package at teardown whatever happened. Needs lintian, man-db, systemd-analyze and curl
 * (.ci/run installs them).
 */
import t from 'tap'
import { lstat, readFile, readdir, readlink, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { copyRepo, REPO, tempDir } from './repo-copy.js'
import { installedSmoke } from './installed-smoke.js'
import { cleanNpmEnv, described, run } from './run.js'
import { allowFileTime } from './file-time-limit.js'

// Building runs npm pack and npm ci, lintian reads ~1,500 files, dpkg runs man-db's trigger:
// about two minutes here, more on a loaded machine than the two .taprc gives a file.
allowFileTime(t, 400_000)

const UNITS = ['mixgate-client.service', 'mixgate-exit.service', 'mixgate-mix@.service']
const EXAMPLES = ['README', 'client.json.example', 'exit.json.example', 'mix.json.example']
/** Where the package keeps things; on a host that already has any of them, the test stays out. */
const OWN_PATHS = ['/usr/lib/mixgate', '/etc/mixgate', '/var/lib/mixgate', '/var/lib/private/mixgate']

const exists = (path: string): Promise<boolean> => lstat(path).then(() => true, () => false)

async function whyNotHere (): Promise<string | false> {
  if (process.getuid?.() !== 0) return 'installs a .deb: needs root (CI runs as root)'
  const dpkg = await run('dpkg', ['--version']).catch(() => undefined)
  if (dpkg === undefined || dpkg.code !== 0) return 'dpkg is not available (not a Debian system)'
  const status = await run('dpkg-query', ['-W', '-f=${db:Status-Status}', 'mixgate'])
  if (status.code === 0 && status.stdout !== 'not-installed') return `mixgate is installed here (${status.stdout}): not touching a real installation`
  for (const path of OWN_PATHS) if (await exists(path)) return `${path} exists: not touching a real installation`
  return false
}

const skip = await whyNotHere()
if (skip !== false) {
  t.test('the Debian package builds, installs, runs and purges cleanly', { skip }, () => {})
} else {
  const version = (JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { version: string }).version
  const repo = await copyRepo(t)
  const work = await tempDir(t, 'mixgate-deb-')
  const deb = join(work, `mixgate_${version}_all.deb`)
  // Registered before anything is installed, so that a failure anywhere still leaves the
  // machine as it was.
  t.teardown(async () => { await run('dpkg', ['--purge', 'mixgate']) })

  await t.test('npm run deb builds mixgate_<version>_all.deb depending on nodejs (>= 20)', async (t) => {
    const built = await run('npm', ['run', '--silent', 'deb', '--', work], { cwd: repo, env: cleanNpmEnv(), timeoutMs: 240_000 })
    t.equal(built.code, 0, `the build exits 0 (${described(built)})`)
    t.equal(built.stdout.trim(), deb, 'and names the package it wrote')
    const fields = await run('dpkg-deb', ['--field', deb, 'Package', 'Version', 'Architecture', 'Depends'])
    t.equal(fields.stdout, `Package: mixgate\nVersion: ${version}\nArchitecture: all\nDepends: nodejs (>= 20)\n`, 'control fields')
    const conffiles = await run('sh', ['-c', `dpkg-deb --ctrl-tarfile "$1" | tar -xOf - ./conffiles`, 'sh', deb])
    t.same(conffiles.stdout.trim().split('\n'), EXAMPLES.map((name) => `/etc/mixgate/${name}`), 'the example configs are conffiles')
  })

  await t.test('lintian finds nothing but the overridden tags, which the package explains', async (t) => {
    const linted = await run('lintian', ['--pedantic', '--info', '--show-overrides', deb], { missing: 'apt-get install -y lintian (.ci/run does)', timeoutMs: 240_000 })
    const tags = linted.stdout.split('\n').filter((line) => /^[EWIPXO]: /.test(line))
    t.same(tags.filter((line) => !line.startsWith('O: ')), [], 'no error, warning, info or pedantic tag')
    t.equal(linted.code, 0, `lintian exits 0 (${described(linted)})`)
    const overrides = await readFile(join(REPO, 'packaging/deb/lintian-overrides'), 'utf8')
    for (const tag of new Set(tags.map((line) => line.split(' ')[2]!))) {
      t.match(overrides, new RegExp(`^# [^\\n]*\\n(?:#[^\\n]*\\n)*mixgate: ${tag} `, 'm'), `override ${tag} comes with a comment saying why`)
    }
  })

  await t.test('dpkg -i installs it: files in place, nothing enabled or started', async (t) => {
    const installed = await run('dpkg', ['-i', deb], { timeoutMs: 180_000 })
    t.equal(installed.code, 0, `dpkg -i exits 0 (${described(installed)})`)
    t.equal(await readlink('/usr/bin/mixgate'), '../lib/mixgate/bin/mixgate', '/usr/bin/mixgate links to the program in /usr/lib/mixgate')
    t.ok(await exists('/usr/lib/mixgate/dist/src/cli/main.js'), 'the compiled program is in /usr/lib/mixgate')
    t.ok(await exists('/usr/lib/mixgate/node_modules/libsodium-wrappers-sumo/package.json'), 'with its dependencies')
    t.notOk(await exists('/usr/lib/mixgate/node_modules/sodium-native'), 'but not the per-architecture sodium-native (the package is "all")')
    for (const unit of UNITS) {
      t.equal(await readFile(`/lib/systemd/system/${unit}`, 'utf8'), await readFile(join(REPO, 'systemd', unit), 'utf8'), `/lib/systemd/system/${unit} is systemd/${unit}`)
    }
    for (const page of ['man1/mixgate.1.gz', 'man5/mixgate.conf.5.gz']) t.ok(await exists(`/usr/share/man/${page}`), `/usr/share/man/${page}`)
    t.same((await readdir('/etc/mixgate')).sort(), EXAMPLES, '/etc/mixgate holds the examples and its README')
    const lib = await stat('/var/lib/mixgate')
    t.same({ mode: lib.mode & 0o7777, uid: lib.uid, gid: lib.gid }, { mode: 0o755, uid: 0, gid: 0 }, '/var/lib/mixgate is root\'s, 0755 (the services reach their key dirs below it)')
    const wants = await run('sh', ['-c', 'ls /etc/systemd/system/*.wants/ 2>/dev/null | grep mixgate || true'])
    t.equal(wants.stdout, '', 'no unit is enabled')
    const running = await run('sh', ['-c', 'ps -eo args | grep "^mixgate \\|/usr/lib/mixgate/bin/mixgate" | grep -v grep || true'])
    t.equal(running.stdout, '', 'no mixgate process was started')
  })

  await t.test('the installed /usr/bin/mixgate runs (libsodium.js backend)', async (t) => {
    await installedSmoke(t, '/usr/bin/mixgate', await tempDir(t, 'mixgate-deb-run-'), version)
  })

  await t.test('man mixgate and man 5 mixgate.conf show the installed pages', async (t) => {
    const env: NodeJS.ProcessEnv = { ...process.env, MANPAGER: 'cat', PAGER: 'cat', MANWIDTH: '80', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' }
    delete env.MANPATH
    for (const [section, page] of [['1', 'mixgate'], ['5', 'mixgate.conf']] as const) {
      const where = await run('man', ['-w', section, page], { env, missing: 'apt-get install -y man-db' })
      t.equal(where.stdout.trim(), `/usr/share/man/man${section}/${page}.${section}.gz`, `man -w ${section} ${page}`)
      const shown = await run('man', [section, page], { env })
      t.equal(shown.code, 0, `man ${section} ${page} exits 0 (${described(shown)})`)
      t.match(shown.stdout, new RegExp(`^NAME\\n {7}${page.replace('.', '\\.')} `, 'm'), 'renders its NAME section')
    }
  })

  await t.test('systemd-analyze verify passes the installed units (binary and man pages found)', async (t) => {
    const env = { ...process.env, SYSTEMD_COLORS: '0', SYSTEMD_PAGER: '', SYSTEMD_LOG_COLOR: '0' }
    for (const unit of ['mixgate-client.service', 'mixgate-exit.service', 'mixgate-mix@mix1.service']) {
      const verified = await run('systemd-analyze', ['verify', unit], { env, missing: 'apt-get install -y systemd' })
      const aboutUnit = `${verified.stdout}\n${verified.stderr}`.split('\n').filter((line) => line.includes('mixgate'))
      t.same(aboutUnit, [], `nothing to say about ${unit}`)
      t.equal(verified.code, 0, `verify ${unit} exits 0 (${described(verified)})`)
    }
  })

  await t.test('dpkg -r removes the program and keeps conffiles and keys; dpkg --purge leaves nothing', async (t) => {
    const keys = await run('/usr/bin/mixgate', ['keygen', '--dir', '/var/lib/mixgate/pkgtest'])
    t.equal(keys.code, 0, `keygen into /var/lib/mixgate/pkgtest (${described(keys)})`)
    const removed = await run('dpkg', ['-r', 'mixgate'], { timeoutMs: 120_000 })
    t.equal(removed.code, 0, `dpkg -r exits 0 (${described(removed)})`)
    for (const path of ['/usr/bin/mixgate', '/usr/lib/mixgate', '/lib/systemd/system/mixgate-exit.service', '/usr/share/man/man1/mixgate.1.gz']) {
      t.notOk(await exists(path), `${path} is gone`)
    }
    t.ok(await exists('/etc/mixgate/mix.json.example'), 'conffiles stay until purge')
    t.ok(await exists('/var/lib/mixgate/pkgtest/identity.key'), 'keys stay until purge')
    const purged = await run('dpkg', ['--purge', 'mixgate'], { timeoutMs: 120_000 })
    t.equal(purged.code, 0, `dpkg --purge exits 0 (${described(purged)})`)
    for (const path of OWN_PATHS) t.notOk(await exists(path), `${path} is gone`)
    const status = await run('dpkg-query', ['-W', '-f=${db:Status-Status}', 'mixgate'])
    t.ok(status.code !== 0 || status.stdout === 'not-installed', `dpkg knows no mixgate any more (${status.stdout || status.stderr.trim()})`)
  })
}
