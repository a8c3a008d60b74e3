/**
 * Test helper: a shaped loopback cascade whose links are recorded at the sender (every write,
 * with the round the node was running), and the check that each write carried exactly the
 * schedule (docs/PROTOCOL.md §12.2).
 */
import { x25519KeyPair } from '../../src/crypto/index.js'
import { makeCascade, type Cascade } from '../../src/directory/cascade.js'
import type { CellLink } from '../../src/link/cell-link.js'
import { epochSchedule } from '../../src/node/keys/epoch.js'
import { ephemeralOnionKeys, type OnionKeySource } from '../../src/node/keys/onion-key-source.js'
import { CellCommand, encodeCell } from '../../src/protocol/cell.js'
import { encodeRelay } from '../../src/protocol/relay-payload.js'
import type { ShapingParams } from '../../src/protocol/shaping.js'
import { runExit, type RunningExit } from '../../src/exit/run-exit.js'
import type { ExitNode } from '../../src/exit/exit-node.js'
import type { HopTestFaults } from '../../src/hop/hop-options.js'
import { MixNode } from '../../src/mix/mix-node.js'
import type { RunningMix } from '../../src/mix/run-mix.js'
import { freePort, memoryLogger, waitFor } from './cascade.js'
import { RelayCommand, type RawCircuit, type RawClient } from './raw-circuit.js'
import { runMixWith } from './run-mix-with.js'

/** A mix or the exit: what these tests read of either. */
type HopNode = MixNode | ExitNode

/** Every write one node made on one link: the round it ran, and the frames written. */
export interface Writes { rounds: number[], frames: number[] }

function recorded (link: CellLink, node: HopNode, writes: Writes): CellLink {
  return {
    send: (cells) => { writes.rounds.push(node.lastRound); writes.frames.push(cells.length); return link.send(cells) },
    pauseInput: () => link.pauseInput(),
    resumeInput: () => link.resumeInput(),
    close: () => link.close(),
    get isOpen () { return link.isOpen },
    get backlogBytes () { return link.backlogBytes },
  }
}

export interface ShapedCascade {
  readonly cascade: Cascade
  readonly mixes: RunningMix[]
  readonly exit: RunningExit
  /** Per mix (index position − 1): writes toward its successor. */
  readonly forward: Writes[]
  /** Per hop (index position − 1): writes on each predecessor link, in the order they came. */
  readonly backward: Writes[][]
}

export async function startShaped (shaping: ShapingParams, options: { mixes: number, roundMs: number, faults?: Record<number, HopTestFaults> }): Promise<ShapedCascade> {
  const { logger } = memoryLogger('test', 'warn')
  const schedule = epochSchedule({ epochS: 3600, genesisS: 0 })
  const hops = options.mixes + 1
  const links = Array.from({ length: hops }, () => x25519KeyPair())
  const onion: OnionKeySource[] = links.map((_, i) => ephemeralOnionKeys({ schedule, logger: logger.child(`keys${i + 1}`) }))
  const ports = await Promise.all(links.map(() => freePort()))
  const cascade = makeCascade({
    cellSize: 1024,
    roundMs: options.roundMs,
    epochS: schedule.epochS,
    genesis: schedule.genesisS,
    shaping,
    hops: links.map((link, i) => ({
      role: i === hops - 1 ? 'exit' as const : 'mix' as const,
      address: { host: '127.0.0.1', port: ports[i]! },
      linkKey: link.publicKey,
      onionKeys: onion[i]!.publicKeys(),
    })),
  })
  const forward: Writes[] = Array.from({ length: options.mixes }, () => ({ rounds: [], frames: [] }))
  const backward: Writes[][] = Array.from({ length: hops }, () => [])
  const watchPredecessors = (node: HopNode, position: number): void => {
    const attach = node.attachPredecessor.bind(node)
    node.attachPredecessor = (link) => {
      const writes: Writes = { rounds: [], frames: [] }
      backward[position - 1]!.push(writes)
      return attach(recorded(link, node, writes))
    }
  }
  const exit = await runExit({
    cascade,
    linkKey: links[hops - 1]!,
    onionKeys: onion[hops - 1]!,
    logger: logger.child('exit'),
    exitPolicy: [],
    dnsServers: ['127.0.0.1:9'],
    ...(options.faults?.[hops] === undefined ? {} : { testFaults: options.faults[hops] }),
  })
  watchPredecessors(exit.node, hops)
  const mixes: RunningMix[] = []
  for (let position = options.mixes; position >= 1; position--) {
    const faults = options.faults?.[position]
    const mix = await runMixWith({
      cascade,
      position,
      linkKey: links[position - 1]!,
      onionKeys: onion[position - 1]!,
      logger: logger.child(`mix${position}`),
      ...(faults === undefined ? {} : { testFaults: faults }),
    }, (o) => {
      const node: MixNode = new MixNode({ ...o, connectSuccessor: async (handlers) => recorded(await o.connectSuccessor(handlers), node, forward[position - 1]!) })
      watchPredecessors(node, position)
      return node
    })
    mixes[position - 1] = mix
    await waitFor(() => mix.node.successorUp, 'mix to reach its successor')
  }
  return { cascade, mixes, exit, forward, backward }
}

export async function stopShaped (c: ShapedCascade): Promise<void> {
  for (const mix of c.mixes) await mix.stop()
  await c.exit.stop()
}

/** The most missed rounds a shaped hop catches up in one round (src/hop/shaped-rounds.ts). */
const MAX_CATCH_UP_ROUNDS = 50

/**
 * Writes from round `from` on whose frame count differs from the schedule; also fails if a
 * round was written twice (one write per link per round). A write after rounds the node
 * missed (a stall of this busy machine) carries those rounds' cells too, up to
 * MAX_CATCH_UP_ROUNDS of them: the schedule of every round since the previous write — unless
 * the previous write also followed missed rounds (an overloaded hop does not catch up). Frames
 * beyond the schedule are returned in `extra` (callers expect none: a hop never sends more
 * than the schedule, R1); fewer frames than the schedule are never right.
 */
export function mismatches (writes: Writes, from: number, expected: (round: number) => number, found?: { extra: number }): string[] {
  const bad: string[] = []
  const seen = new Set<number>()
  let previous = -1
  let missedBefore = false
  for (let i = 0; i < writes.rounds.length; i++) {
    const round = writes.rounds[i]!
    const missed = previous < 0 ? 0 : round - previous - 1
    const covered = missed > 0 && !missedBefore ? Math.max(previous + 1, round - MAX_CATCH_UP_ROUNDS + 1) : round
    missedBefore = missed > 0
    previous = round
    if (round < from) continue
    if (seen.has(round)) bad.push(`round ${round} written twice`)
    seen.add(round)
    let want = 0
    for (let r = covered; r <= round; r++) want += expected(r)
    const frames = writes.frames[i]!
    if (found !== undefined && frames > want) found.extra += frames - want
    else if (frames !== want) bad.push(`round ${round}: ${frames} frames, expected ${want}`)
  }
  return bad
}

export function countFrom (writes: Writes, from: number): number {
  return writes.rounds.filter((round) => round >= from).length
}

export const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

export function dropCell (client: RawClient, circuit: RawCircuit, control = 0): Uint8Array {
  const { geometry } = client.cascade
  const body = circuit.sealer.seal(encodeRelay(geometry.forwardPayloadBytes, 0, RelayCommand.DROP), control)
  return encodeCell(geometry, circuit.id, CellCommand.RELAY, body)
}

