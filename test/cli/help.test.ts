/**
 * The command line itself: help for every subcommand, the version, and exit status 2 with a
 * message on standard error for commands and options that do not exist.
 */
import t from 'tap'
import { readFileSync, statSync } from 'node:fs'
import { COMMAND_HELP } from '../../src/cli/help.js'
import { main } from '../../src/cli/main.js'
import { BIN, runCli } from './spawn-cli.js'

const SUBCOMMANDS = ['up', 'mix', 'exit', 'client', 'check-config', 'keygen', 'descriptor', 'cascade', 'status', 'help']

/** `main` in this process, with what it writes collected. */
async function runMain (argv: string[]): Promise<{ code: number, out: string, err: string }> {
  let out = ''
  let err = ''
  const code = await main(argv, { out: (s) => { out += s }, err: (s) => { err += s } })
  return { code, out, err }
}

t.test('mixgate --help lists every subcommand and exits 0', async (t) => {
  const { code, stdout, stderr } = await runCli(['--help'])
  t.equal(code, 0)
  t.equal(stderr, '')
  t.same(Object.keys(COMMAND_HELP).sort(), [...SUBCOMMANDS].sort(), 'the help table has exactly the subcommands main dispatches')
  for (const name of SUBCOMMANDS) t.match(stdout, new RegExp(`^  ${name} +\\S`, 'm'), `lists ${name}`)
  t.equal((await runMain([])).out, stdout, 'no arguments at all show the same overview')
})

t.test('mixgate help CMD and mixgate CMD --help show that command\'s usage', async (t) => {
  for (const name of SUBCOMMANDS.filter((n) => n !== 'help')) {
    const viaHelp = await runMain(['help', name])
    t.equal(viaHelp.code, 0)
    t.match(viaHelp.out, new RegExp(`^Usage: mixgate ${name}\\b`), `help ${name}`)
    const viaFlag = await runMain([name, '--help'])
    t.equal(viaFlag.out, viaHelp.out, `${name} --help is the same text`)
  }
  const up = await runMain(['help', 'up'])
  for (const flag of ['--mixes', '--socks', '--http', '--round-ms', '--epoch-s', '--exit-policy', '--state-dir', '--hop-threads', '--log-level', '--log-format']) {
    t.match(up.out, flag, `up's help explains ${flag}`)
  }
  for (const [name, flags] of [['keygen', ['--dir', '--force']], ['descriptor', ['--config', '--out']], ['cascade', ['create', 'verify', '--node', '--out', '--pin']]] as const) {
    const help = await runMain(['help', name])
    for (const flag of flags) t.match(help.out, flag, `${name}'s help explains ${flag}`)
  }
  for (const role of ['mix', 'exit']) {
    const help = await runMain(['help', role])
    for (const field of ['keyDir', 'address', 'cascade', 'epochS', 'admin', 'SIGHUP']) t.match(help.out, field, `${role}'s help explains ${field}`)
    t.notMatch(help.out, /linkKeyFile|onionKeyFile/, `${role}'s help no longer names the old key file fields`)
  }
  t.match((await runMain(['help', 'client'])).out, 'cascadeUrl', 'the client\'s help explains cascadeUrl')
})

t.test('mixgate --version prints the package version', async (t) => {
  const { version } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
  const { code, stdout } = await runCli(['--version'])
  t.equal(code, 0)
  t.equal(stdout, `mixgate ${version}\n`)
})

t.test('an unknown subcommand exits 2 with a message (and a suggestion) on standard error', async (t) => {
  const { code, stdout, stderr } = await runCli(['upp'])
  t.equal(code, 2)
  t.equal(stdout, '')
  t.match(stderr, /unknown command "upp" \(did you mean "up"\?\)/)
  t.match(stderr, /mixgate --help/)
  const far = await runMain(['frobnicate'])
  t.equal(far.code, 2)
  t.match(far.err, /unknown command "frobnicate"\n/, 'no suggestion when nothing is near')
  t.equal((await runMain(['help', 'nope'])).code, 2, 'help for an unknown command')
})

t.test('unknown or malformed options exit 2 naming the option', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['up', '--mixs', '3'], /unknown option --mixs \(did you mean --mixes\?\)/],
    [['up', '--mixes'], /option --mixes needs a value/],
    [['up', '--mixes', '0'], /--mixes must be an integer between 1 and 7, got "0"/],
    [['up', '--mixes', '8'], /--mixes must be an integer between 1 and 7/],
    [['up', '--round-ms', 'fast'], /--round-ms must be an integer/],
    [['up', '--socks', '127.0.0.1'], /--socks: expected HOST:PORT/],
    [['up', '--http', 'localhost'], /--http: expected HOST:PORT/],
    [['up', '--exit-policy', 'allow *:*'], /--exit-policy: exit policy rule "allow \*:\*"/],
    [['up', '--log-level', 'loud'], /--log-level must be one of error, warn, info, debug/],
    [['up', 'extra'], /unexpected argument "extra"/],
    [['mix'], /--config FILE is required/],
    [['client', '--conf', 'x.json'], /unknown option --conf \(did you mean --config\?\)/],
    [['check-config'], /name the config file/],
    [['up', '--epoch-s', '2'], /--epoch-s must be an integer between 4 and 86400/],
    [['keygen', '--dir'], /option --dir needs a value/],
    [['descriptor'], /--config FILE is required/],
    [['cascade', 'create', '--out', 'x.json'], /give each hop's node descriptor with --node FILE/],
    [['cascade', 'create', '--node', 'a.desc'], /--out FILE is required/],
    [['cascade', 'verify'], /name the cascade descriptor file/],
    [['--verbose'], /unknown option --verbose/],
  ]
  for (const [argv, message] of cases) {
    const { code, out, err } = await runMain(argv)
    t.equal(code, 2, `${argv.join(' ')}: status 2`)
    t.equal(out, '', `${argv.join(' ')}: nothing on standard output`)
    t.match(err, message, `${argv.join(' ')}: says what is wrong`)
  }
  const spawned = await runCli(['exit', '--bogus'])
  t.equal(spawned.code, 2, 'the real command exits 2 too')
  t.match(spawned.stderr, /unknown option --bogus/)
})

t.test('the launcher is executable', async (t) => {
  // What its shell lines set: launcher-settings.test.ts.
  t.match(readFileSync(BIN, 'utf8'), /^#!\/bin\/sh\n(?:\/\/bin\/true; [^\n]*\n)*\/\/bin\/true; exec node [^\n]*"\$0" "\$@"\n/)
  t.ok((statSync(BIN).mode & 0o111) !== 0, 'and has its execute bits')
})
