/**
 * One hop of the lab cascade (a mix or the exit), driven by small JSON requests, so that the
 * same code runs it in the lab's own process, in a worker thread or in a child process
 * (hop-process.ts). The requests, in order:
 *
 *   keys  → the hop draws its link key and its ephemeral onion keys and answers the public
 *           halves (hex): the parent needs every hop's link key for the cascade (its ID covers
 *           them) and every onion key for the clients. No secret leaves the hop.
 *   start → with the whole cascade (cascadeToJson, the real ID in hex, the shaping), the hop
 *           listens at its address and, a mix, dials its successor; answered once the link to
 *           the successor is up.
 *   stats → its round counters (rounds run, missed, cells dropped over a queue bound) and how late its
 *           event loop ran since the last `stats` with `reset`.
 *   stop  → stop the hop and wipe its keys.
 */
import { Writable } from 'node:stream'
import { memzero, x25519KeyPair, type KeyPair } from '../src/crypto/index.js'
import type { Cascade } from '../src/directory/cascade.js'
import { cascadeFromJson, type CascadeJson } from '../src/directory/cascade-json.js'
import { runExit, type RunningExit } from '../src/exit/run-exit.js'
import { runMix, type RunningMix } from '../src/mix/run-mix.js'
import { epochSchedule } from '../src/protocol/epoch.js'
import { ephemeralOnionKeys, type OnionKeySource } from '../src/node/keys/onion-key-source.js'
import { createLogger, type Logger, type LogLevel } from '../src/base/logger.js'
import type { ShapingParams } from '../src/protocol/shaping.js'
import { NO_LOOP_DELAY, type LoopDelay, type LoopWatch } from './loop-delay.js'

/** The lab's epoch schedule: hour-long epochs from the Unix epoch (a run never needs a third key). */
export const LAB_EPOCH_S = 3600
export const LAB_GENESIS_S = 0

export interface HopPublicKeys {
  /** Hex. */
  readonly linkKey: string
  readonly onionKeys: Array<{ epoch: number, onionKey: string }>
}

export interface HopStart {
  readonly position: number
  readonly cascade: CascadeJson
  /** The cascade ID in hex (what makeCascade computes from the same parts; checked). */
  readonly cascadeId: string
  readonly shaping: ShapingParams
}

export interface HopStats {
  readonly position: number
  readonly rounds: number
  /** Rounds the hop's clock skipped because its process was a whole round late (cumulative). */
  readonly missedRounds: number
  /** Cells sent beyond the schedule to drain a backlog (cumulative; mixes only). */
  readonly droppedOverQueue: number
  /**
   * CPU time of the process the hop runs in, user and system (cumulative ms; hops that share
   * a process report the same; 0 inline, where the process is the lab's).
   */
  readonly cpuMs: number
  /** How late the event loop of the hop's process ran since the last reset (ms; 0 inline). */
  readonly eventLoopDelayMs: LoopDelay
}

export type HopRequest =
  | { op: 'keys' }
  | { op: 'start', start: HopStart }
  | { op: 'stats', reset: boolean }
  | { op: 'stop' }

/** Answers a request: the value for `keys` / `stats`, nothing for the others. */
export type HopServer = (request: HopRequest) => Promise<unknown>

export function quietLogger (role: string, level: LogLevel): Logger {
  const stream = new Writable({ write (chunk, _enc, done) { if (level !== 'error') process.stderr.write(chunk); done() } })
  return createLogger({ role, level, stream })
}

function cpuMs (): number {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1000
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')

async function waitUntil (condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`lab hop: timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/**
 * A hop waiting for its requests. `loop`: the watch on this process's event loop, if the hop
 * has a process of its own to report on (the lab watches its own).
 */
export function serveHop (options: { logLevel?: LogLevel, loop?: LoopWatch } = {}): HopServer {
  const logger = quietLogger('lab-hop', options.logLevel ?? 'error')
  const loop = options.loop ?? null
  let link: KeyPair | undefined
  let onion: OnionKeySource | undefined
  let running: RunningMix | RunningExit | undefined
  let position = 0

  const stats = (reset: boolean): HopStats => {
    if (running === undefined) throw new Error('lab hop: not started')
    const s = running.node.stats
    const out: HopStats = {
      position,
      rounds: s.rounds,
      missedRounds: running.node.missedRounds,
      droppedOverQueue: s.cellsDroppedOverQueue,
      cpuMs: loop === null ? 0 : cpuMs(),
      eventLoopDelayMs: loop?.read() ?? NO_LOOP_DELAY,
    }
    if (reset) loop?.reset()
    return out
  }

  return async (request) => {
    switch (request.op) {
      case 'keys': {
        link = x25519KeyPair()
        onion = ephemeralOnionKeys({ schedule: epochSchedule({ epochS: LAB_EPOCH_S, genesisS: LAB_GENESIS_S }), logger: logger.child('keys') })
        const keys: HopPublicKeys = { linkKey: hex(link.publicKey), onionKeys: onion.publicKeys().map((k) => ({ epoch: k.epoch, onionKey: hex(k.onionKey) })) }
        return keys
      }
      case 'start': {
        if (link === undefined || onion === undefined) throw new Error('lab hop: keys first')
        const { start } = request
        position = start.position
        const file = cascadeFromJson(start.cascade)
        const cascade: Cascade = { ...file, params: { ...file.params, shaping: start.shaping } }
        if (hex(cascade.id) !== start.cascadeId) throw new Error('lab hop: the cascade description does not give the cascade ID it names')
        const common = { cascade, linkKey: link, onionKeys: onion }
        if (cascade.hops[position - 1]?.role === 'exit') {
          running = await runExit({ ...common, logger: logger.child('exit'), exitPolicy: ['accept 127.0.0.1:*'], dnsServers: ['127.0.0.1:9'] })
        } else {
          const mix = await runMix({ ...common, position, logger: logger.child(`mix${position}`) })
          running = mix
          await waitUntil(() => mix.node.successorUp, `mix ${position} to reach its successor`)
        }
        return undefined
      }
      case 'stats':
        return stats(request.reset)
      case 'stop': {
        const hop = running
        running = undefined
        await hop?.stop()
        await onion?.close()
        onion = undefined
        if (link !== undefined) memzero(link.secretKey)
        link = undefined
        return undefined
      }
    }
  }
}
