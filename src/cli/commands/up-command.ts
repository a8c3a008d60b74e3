/**
 * `mixgate up`: the embedded default, a whole cascade on loopback in this process (the hops
 * in worker threads, `--hop-threads` of them, src/node/start/embedded-cascade.ts).
 *
 * When every node is up it prints to standard output, the first line being the one tests
 * and the benchmark parse (the HTTP CONNECT line only with --http):
 *
 *   mixgate: SOCKS5 proxy listening on 127.0.0.1:1080 (3 mixes + exit)
 *   mixgate: HTTP CONNECT proxy listening on 127.0.0.1:8118
 *   mixgate: admin http://127.0.0.1:43117 (mixgate status)
 *   expect: a new connection answers in ≈ 0.05 s, … (up-expectations.ts, per profile)
 *   try: curl --socks5-hostname 127.0.0.1:1080 https://example.org/
 *
 * The admin port is the client's (/healthz, /metrics). `up` records it in its runtime
 * directory (running-up.ts) so that `mixgate status` with no flag finds it; the record
 * goes when `up` stops.
 *
 * The SOCKS port serves SOCKS4 and SOCKS4a too; the first line names SOCKS5, the one most
 * apps should use, and stays as it was for the scripts that read it.
 *
 * It runs until SIGINT or SIGTERM (status 0 if everything stopped cleanly), or until a hop's
 * thread dies: then it stops the rest as a signal would and ends with status 1. A shutdown
 * that runs out of time (`shutdown.timeout`, 5 s) terminates the hop threads still running,
 * all at once. It returns only once every hop thread has ended: the launcher's `process.exit`
 * would otherwise wait for one that cannot end, and the hard exit armed with the shutdown
 * (src/node/hard-exit.ts) ends the process instead, 10 s after the signal at most.
 */
import { getServers } from 'node:dns'
import { PolicyError } from '../../exit/errors.js'
import { parsePolicyRule } from '../../exit/policy-rule.js'
import { AddressError, formatHostPort, parseHostPort, type HostPort } from '../../base/address.js'
import { createLogger, LOG_LEVELS, type LogLevel } from '../../base/logger.js'
import { parseCommandArgs, integerOption, stringList, stringOption } from '../args.js'
import { MAX_MIXES } from '../config/common-fields.js'
import { startEmbeddedCascade } from '../../node/start/embedded-cascade.js'
import { defaultHopThreads } from '../../node/threads/hop-thread-plan.js'
import { EXPECTATIONS } from './up-expectations.js'
import { serveUntilSignal } from '../../node/start/serve.js'
import { prepareStateDir } from '../../node/start/state-dir.js'
import { recordRunningUp } from '../../node/start/running-up.js'
import { UsageError } from '../../base/usage-error.js'
import type { CommandContext } from './context.js'
import { DEFAULT_SHAPING, DEFAULT_SHAPING_PROFILE, SHAPING_PROFILES, type ShapingParams, type ShapingProfile } from '../../protocol/shaping.js'
import { DEFAULT_PARAMS } from '../../directory/cascade-params-json.js'

export const DEFAULT_SOCKS = '127.0.0.1:1080'
/** The client's admin port: any free one, printed and recorded for `mixgate status`. */
const DEFAULT_ADMIN = '127.0.0.1:0'
/** What the exit asks when the host lists no DNS server: nothing answers, names fail. */
const NO_DNS_FALLBACK = ['127.0.0.1:53']

export async function upCommand (argv: readonly string[], context: CommandContext): Promise<number> {
  const args = parseCommandArgs('up', argv, {
    mixes: { type: 'string', short: 'n' },
    socks: { type: 'string' },
    http: { type: 'string' },
    admin: { type: 'string' },
    'round-ms': { type: 'string' },
    'epoch-s': { type: 'string' },
    shaping: { type: 'string' },
    'exit-policy': { type: 'string', multiple: true },
    'state-dir': { type: 'string' },
    'log-level': { type: 'string' },
    'log-format': { type: 'string' },
    'hop-threads': { type: 'string' },
  })
  if (args.help) return context.showHelp('up')
  const mixes = integerOption('up', args, 'mixes', { min: 1, max: MAX_MIXES }, 3)
  const profile = choice('shaping', stringOption(args, 'shaping') ?? DEFAULT_SHAPING_PROFILE, SHAPING_PROFILES)
  const hopThreads = integerOption('up', args, 'hop-threads', { min: 1, max: mixes + 1 }, defaultHopThreads(mixes + 1, profile))
  const roundMs = integerOption('up', args, 'round-ms', { min: 1, max: 10_000 }, upRoundMs(profile))
  // At least 4 s: the grace window is a quarter epoch for short epochs, and whole seconds.
  const epochS = integerOption('up', args, 'epoch-s', { min: 4, max: 86_400 }, 3600)
  const socks = addressOption('socks', stringOption(args, 'socks') ?? DEFAULT_SOCKS)
  const httpText = stringOption(args, 'http')
  const http = httpText === undefined ? undefined : addressOption('http', httpText)
  const clientAdmin = addressOption('admin', stringOption(args, 'admin') ?? DEFAULT_ADMIN)
  const exitPolicy = stringList(args, 'exit-policy')
  exitPolicy.forEach(checkPolicyRule)
  const level = choice('log-level', stringOption(args, 'log-level') ?? 'info', LOG_LEVELS)
  const format = choice('log-format', stringOption(args, 'log-format') ?? 'text', ['text', 'json'] as const)
  const stateDir = stringOption(args, 'state-dir')
  if (stateDir !== undefined) await prepareStateDir(stateDir)

  const log = { level: level as LogLevel, format }
  const logger = createLogger({ role: 'up', level: log.level, format })
  const hostServers = getServers()
  if (hostServers.length === 0) logger.warn('dns.no_servers', { hint: 'the exit cannot resolve names; IP addresses and localhost still work' })
  const embedded = await startEmbeddedCascade({
    mixes,
    roundMs,
    epochS,
    shaping: upShaping(profile, roundMs),
    socks,
    ...(http === undefined ? {} : { http }),
    clientAdmin,
    exitPolicy,
    dnsServers: hostServers.length > 0 ? hostServers : NO_DNS_FALLBACK,
    log,
    ...(stateDir === undefined ? {} : { stateDir }),
    hopThreads,
  })
  const where = formatHostPort(embedded.socks)
  const httpWhere = embedded.http === undefined ? undefined : formatHostPort(embedded.http)
  // Recorded before the lines are printed: whoever reads them may run `mixgate status` at once.
  const record = await recordRunningUp({ admin: embedded.clientAdminUrl, socks: where, ...(httpWhere === undefined ? {} : { http: httpWhere }) })
  if ('problem' in record) logger.warn('up.not_recorded', { reason: record.problem, hint: 'mixgate status needs --admin' })
  context.out(`mixgate: SOCKS5 proxy listening on ${where} (${mixes} ${mixes === 1 ? 'mix' : 'mixes'} + exit)\n`)
  if (httpWhere !== undefined) context.out(`mixgate: HTTP CONNECT proxy listening on ${httpWhere}\n`)
  context.out(`mixgate: admin ${embedded.clientAdminUrl} (mixgate status)\n`)
  context.out(`${EXPECTATIONS[profile]}\n`)
  context.out(`try: curl --socks5-hostname ${where} https://example.org/\n`)
  try {
    return await serveUntilSignal(embedded.nodes, logger, {
      crashed: embedded.crashed,
      // Reported as main reports an unexpected error.
      onCrash: (crash) => {
        const cause = crash.cause instanceof Error ? `: ${crash.cause.stack ?? crash.cause.message}` : ''
        context.err(`mixgate: ${crash.message}${cause}\n`)
      },
      hardExit: { log: { role: 'up', format }, running: () => embedded.runningThreads() },
    })
  } finally {
    if ('remove' in record) await record.remove()
    // Still running only if the stops ran out of time: they had their grace period.
    embedded.terminateThreads('the shutdown ran out of time')
    await embedded.threadsEnded
  }
}

/**
 * `up`'s round: 10 ms under shaping (the cascade default, which the shaped rates count in),
 * 5 ms with `off`, whose rounds are all its mixing and a cell's only wait: a new connection is
 * two round trips, and each direction waits about half a round at its first hop, so 5 ms rounds
 * take a 1 KiB request from 34-37 to 28-30 ms here at the same throughput (docs/BENCH.md).
 */
function upRoundMs (profile: ShapingProfile): number {
  return profile === 'off' ? UP_OFF_ROUND_MS : DEFAULT_PARAMS.roundMs
}

const UP_OFF_ROUND_MS = 5

/**
 * The profile's defaults, with a slot of at least one second whatever the round length (a
 * slot is a whole number of rounds).
 */
function upShaping (profile: ShapingProfile, roundMs: number): ShapingParams {
  const base = DEFAULT_SHAPING[profile]
  const slotMs = Math.max(roundMs, Math.round(base.slotMs / roundMs) * roundMs)
  return { ...base, slotMs }
}

function addressOption (option: 'socks' | 'http' | 'admin', text: string): HostPort {
  try {
    return parseHostPort(text, { allowZeroPort: true })
  } catch (err) {
    if (!(err instanceof AddressError)) throw err
    throw new UsageError(`mixgate up: --${option}: ${err.message}, got ${JSON.stringify(text)}`, 'up')
  }
}

function checkPolicyRule (line: string): void {
  try {
    for (const part of line.split(',')) parsePolicyRule(part)
  } catch (err) {
    if (!(err instanceof PolicyError)) throw err
    throw new UsageError(`mixgate up: --exit-policy: ${err.message}`, 'up')
  }
}

function choice<const V extends readonly string[]> (option: string, value: string, values: V): V[number] {
  if (values.includes(value)) return value
  throw new UsageError(`mixgate up: --${option} must be one of ${values.join(', ')}, got ${JSON.stringify(value)}`, 'up')
}
