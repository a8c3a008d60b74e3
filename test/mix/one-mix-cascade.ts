/**
 * Test helper: the smallest real cascade — one mix and the exit on loopback, real Noise
 * links — with the mix's writes recorded at the sender: toward the exit (forward) and toward
 * its predecessors (backward), each write with the mix's round and each cell's command and
 * circuit ID. The mix's onion keys can be gated (gated-keys.ts), so a test decides when its
 * tag log appends settle; the exit has plain in-memory keys.
 */
import { x25519KeyPair } from '../../src/crypto/index.js'
import { makeCascade, type Cascade } from '../../src/directory/cascade.js'
import { runExit, type RunningExit } from '../../src/exit/run-exit.js'
import type { CellLink } from '../../src/link/cell-link.js'
import { epochSchedule } from '../../src/protocol/epoch.js'
import { ephemeralOnionKeys, type OnionKeySource } from '../../src/node/keys/onion-key-source.js'
import { cellCircuitId, cellCommand } from '../../src/protocol/cell.js'
import type { ShapingParams } from '../../src/protocol/shaping.js'
import { MixNode, type MixOptions } from '../../src/mix/mix-node.js'
import { runMix, type RunningMix } from '../../src/mix/run-mix.js'
import { freePort, memoryLogger, waitFor } from '../helpers/cascade.js'
import { gatedKeys, type GatedKeys } from './gated-keys.js'

/** One write of the mix on one link: its round (shaped: the round number; else rounds run) and the rounds before it it carries too (its span). */
export interface Write {
  readonly round: number
  readonly span: number
  readonly cells: ReadonlyArray<{ readonly command: number, readonly id: number }>
}

export interface OneMixCascade {
  readonly cascade: Cascade
  readonly mix: RunningMix
  readonly exit: RunningExit
  /** The mix's keys and their appends (null: plain keys, nothing is logged). */
  readonly gate: GatedKeys | null
  /** Writes from the mix to the exit. */
  readonly forward: Write[]
  /** Writes from the mix to its predecessors (the test's clients), all links together. */
  readonly backward: Write[]
  /** The mix's round now, as `Write.round` counts it. */
  round (): number
  stop (): Promise<void>
}

export interface OneMixOptions {
  readonly roundMs?: number
  readonly shaping?: ShapingParams
  /** Give the mix gated keys (its tag log appends wait for the test). */
  readonly gated?: boolean
  /** Build the mix node (default `new MixNode`); options are the ones runMix passes. */
  readonly makeMix?: (options: MixOptions) => MixNode
  /** The exit stops reading each link from the mix as soon as it has it (a stalled successor). */
  readonly exitReadsNothing?: boolean
}

export async function startOneMix (options: OneMixOptions = {}): Promise<OneMixCascade> {
  const { logger } = memoryLogger('test', 'warn')
  const schedule = epochSchedule({ epochS: 3600, genesisS: 0 })
  const links = [x25519KeyPair(), x25519KeyPair()]
  const mixKeys = ephemeralOnionKeys({ schedule })
  const exitKeys = ephemeralOnionKeys({ schedule })
  const gate = options.gated === true ? gatedKeys(mixKeys) : null
  const mixSource: OnionKeySource = gate?.source ?? mixKeys
  const ports = [await freePort(), await freePort()]
  const cascade = makeCascade({
    cellSize: 1024,
    roundMs: options.roundMs ?? 10,
    epochS: schedule.epochS,
    genesis: schedule.genesisS,
    ...(options.shaping === undefined ? {} : { shaping: options.shaping }),
    hops: [
      { role: 'mix', address: { host: '127.0.0.1', port: ports[0]! }, linkKey: links[0]!.publicKey, onionKeys: mixKeys.publicKeys() },
      { role: 'exit', address: { host: '127.0.0.1', port: ports[1]! }, linkKey: links[1]!.publicKey, onionKeys: exitKeys.publicKeys() },
    ],
  })
  const exit = await runExit({ cascade, linkKey: links[1]!, onionKeys: exitKeys, logger: logger.child('exit'), exitPolicy: [], dnsServers: ['127.0.0.1:9'] })
  if (options.exitReadsNothing === true) {
    const attach = exit.node.attachPredecessor.bind(exit.node)
    exit.node.attachPredecessor = (link) => { const handlers = attach(link); link.pauseInput(); return handlers }
  }
  const forward: Write[] = []
  const backward: Write[] = []
  let node: MixNode | undefined
  const round = (): number => node === undefined ? -1 : node.isShaped ? node.lastRound : node.stats.rounds
  const recorded = (link: CellLink, writes: Write[]): CellLink => ({
    send: (cells, wireRound, span) => {
      writes.push({ round: round(), span: span ?? 0, cells: cells.map((cell) => ({ command: cellCommand(cell), id: cellCircuitId(cell) })) })
      return link.send(cells, wireRound, span)
    },
    pauseInput: () => link.pauseInput(),
    resumeInput: () => link.resumeInput(),
    close: () => link.close(),
    get isOpen () { return link.isOpen },
    get backlogBytes () { return link.backlogBytes },
    get roundIn () { return link.roundIn },
  })
  const make = options.makeMix ?? ((o: MixOptions) => new MixNode(o))
  const mix = await runMix({ cascade, position: 1, linkKey: links[0]!, onionKeys: mixSource, logger: logger.child('mix') }, (o) => {
    const built = make({ ...o, connectSuccessor: async (handlers) => recorded(await o.connectSuccessor(handlers), forward) })
    const attach = built.attachPredecessor.bind(built)
    built.attachPredecessor = (link) => attach(recorded(link, backward))
    node = built
    return built
  })
  if (gate !== null) gate.stamp = round
  await waitFor(() => mix.node.successorUp, 'the mix to reach the exit')
  return {
    cascade,
    mix,
    exit,
    gate,
    forward,
    backward,
    round,
    async stop () {
      gate?.openAll() // a pending append would keep the mix's stop waiting
      await mix.stop()
      await exit.stop()
      await mixKeys.close()
      await exitKeys.close()
    },
  }
}
