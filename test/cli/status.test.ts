/**
 * `mixgate status --admin URL` (statusCommand): prints the short summary of a running admin
 * server, healthy or not (exit 0); an admin port nobody answers on exits 1 with a message
 * saying so; a missing or malformed --admin is a usage error (status 2).
 */
import t, { type Test } from 'tap'
import { Writable } from 'node:stream'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { statusCommand } from '../../src/cli/commands/status-command.js'
import type { CommandContext } from '../../src/cli/commands/context.js'
import { UsageError } from '../../src/base/usage-error.js'
import { startNodeAdmin } from '../../src/node/admin/node-admin.js'
import { closedPort } from '../helpers/targets.js'
import { createLogger, type Logger } from '../../src/base/logger.js'

/** A logger that writes nowhere (this test imports no role code, so not the cascade helper's). */
function quietLogger (): Logger {
  return createLogger({ role: 'test', level: 'debug', stream: new Writable({ write (_chunk, _enc, done) { done() } }) })
}

interface Captured {
  readonly context: CommandContext
  readonly out: () => string
  readonly err: () => string
  readonly help: string[]
}

function capture (): Captured {
  let out = ''
  let err = ''
  const help: string[] = []
  const context: CommandContext = {
    out: (text) => { out += text },
    err: (text) => { err += text },
    showHelp: (command) => { help.push(command); return 0 },
  }
  return { context, out: () => out, err: () => err, help }
}

async function runningMix (t: Test, successorUp: boolean): Promise<string> {
  // The counters a mix's HopStats holds (src/hop/hop-metrics.ts `HopCounters`), without the mix.
  const stats = {
    cellsIn: 1200, cellsOut: 1190, rounds: 345, createsAccepted: 9, createsRefusedAuth: 0, createsRefusedReplay: 2,
    createsRefusedFull: 0, createsRefusedLimit: 0, createsRefusedBusy: 0, createsCarried: 0, relayAuthFailures: 0, unknownCircuitCells: 0, malformedCells: 0,
    destroysIn: 0, circuitsExpired: 0, linksAccepted: 3, linksClosed: 0, linksClosedSlow: 0,
    circuitsSilenced: 0, cellsDroppedSilenced: 0, cellsDroppedOverQueue: 0, createsRefusedQuarantine: 0, inputExceptions: 0,
    createsRefusedRate: 0, linksClosedIdle: 0, linksFailed: 0,
  }
  const node = { stats, circuits: 6, predecessorLinks: 3, missedRounds: 0, successorUp, successorConnects: 1, successorFailures: 0 }
  const admin = await startNodeAdmin({
    role: 'mix', node, position: 1, epoch: () => 17, uptimeS: () => 3725,
    address: { host: '127.0.0.1', port: 0 }, logger: quietLogger(),
  })
  t.teardown(() => admin.close())
  return admin.url
}

async function usageError (t: Test, run: Promise<number>, pattern: RegExp): Promise<void> {
  try {
    await run
    t.fail('expected a usage error')
  } catch (err) {
    t.ok(err instanceof UsageError, 'a UsageError')
    t.equal((err as UsageError).exitCode, 2, 'exit status 2')
    t.match((err as Error).message, pattern)
  }
}

t.test('status --admin URL prints the summary of a running node', async (t) => {
  const url = await runningMix(t, true)
  const io = capture()
  t.equal(await statusCommand(['--admin', url], io.context), 0, 'exit status 0')
  const text = io.out()
  t.match(text, /^role +mix, position 1$/m)
  t.match(text, /^health +ok$/m)
  t.match(text, /^uptime +1h 2m 5s$/m)
  t.match(text, /^epoch +17$/m)
  t.match(text, /^circuits +6$/m)
  t.match(text, /^cells +1200 in, 1190 out$/m)
  t.match(text, /^rounds +345$/m)
  t.match(text, /^replays +2 dropped$/m)
  t.match(text, /^links +3 open, successor up$/m)
  t.equal(io.err(), '', 'nothing on standard error')
})

t.test('an unhealthy node is still a status: printed, exit status 0', async (t) => {
  const url = await runningMix(t, false)
  const io = capture()
  t.equal(await statusCommand([`--admin=${url}/`], io.context), 0)
  t.match(io.out(), /^health +unhealthy \(successor_down\)$/m)
  t.match(io.out(), /successor down/)
})

t.test('an admin port nobody answers on exits 1 with a clear message', async (t) => {
  const port = await closedPort()
  const io = capture()
  t.equal(await statusCommand(['--admin', `http://127.0.0.1:${port}`], io.context), 1, 'exit status 1')
  t.match(io.err(), /^mixgate status: cannot reach the admin server: ECONNREFUSED \(http:\/\/127\.0\.0\.1:\d+\)\n$/)
  t.equal(io.out(), '', 'nothing on standard output')
})

t.test('a missing or malformed --admin is a usage error (status 2)', async (t) => {
  // No `mixgate up` recorded: an empty runtime dir of this test's own (running-up.ts).
  const runtime = mkdtempSync(join(tmpdir(), 'mixgate-status-'))
  const saved = process.env.MIXGATE_RUNTIME_DIR
  process.env.MIXGATE_RUNTIME_DIR = runtime
  t.teardown(() => {
    if (saved === undefined) delete process.env.MIXGATE_RUNTIME_DIR
    else process.env.MIXGATE_RUNTIME_DIR = saved
    rmSync(runtime, { recursive: true, force: true })
  })
  await usageError(t, statusCommand([], capture().context), /--admin is required: no mixgate up is running on this machine/)
  await usageError(t, statusCommand(['--admin'], capture().context), /--admin needs a value/)
  await usageError(t, statusCommand(['--admin', '127.0.0.1:9101'], capture().context), /--admin: .*http:\/\//)
  await usageError(t, statusCommand(['--admn', 'http://127.0.0.1:1'], capture().context), /unknown option --admn \(did you mean --admin\?\)/)
  await usageError(t, statusCommand(['--admin', 'http://127.0.0.1:1', 'extra'], capture().context), /unexpected argument "extra"/)
})

t.test('status --help shows the command\'s help', async (t) => {
  const io = capture()
  t.equal(await statusCommand(['--help'], io.context), 0)
  t.same(io.help, ['status'])
})
