/**
 * Test helper: a shaped loopback cascade whose links are recorded at the sender (every write,
 * with the round the node was running), and the check that each write carried exactly the
 * schedule (docs/PROTOCOL.md §12.2).
 */
import { x25519KeyPair } from '../../src/crypto/index.js'
import { makeCascade, type Cascade } from '../../src/directory/cascade.js'
import type { CellLink, CellLinkHandlers } from '../../src/link/cell-link.js'
import { epochSchedule } from '../../src/protocol/epoch.js'
import { ephemeralOnionKeys, type OnionKeySource } from '../../src/node/keys/onion-key-source.js'
import { CellCommand, cellCircuitId, encodeCell } from '../../src/protocol/cell.js'
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

/**
 * Every write one node made on one link: the round it ran, the rounds before it whose
 * schedule the write said it carries too (its span, PROTOCOL.md §8.4), the frames written,
 * and how many of them each circuit ID had (PADDING on circuit 0 included).
 */
export interface Writes { rounds: number[], spans: number[], frames: number[], perCircuit: Array<Map<number, number>> }

export function newWrites (): Writes {
  return { rounds: [], spans: [], frames: [], perCircuit: [] }
}

function recorded (link: CellLink, node: HopNode, writes: Writes): CellLink {
  return {
    send: (cells, wireRound, span) => {
      writes.rounds.push(node.lastRound)
      writes.spans.push(span ?? 0)
      writes.frames.push(cells.length)
      const counts = new Map<number, number>()
      for (const cell of cells) counts.set(cellCircuitId(cell), (counts.get(cellCircuitId(cell)) ?? 0) + 1)
      writes.perCircuit.push(counts)
      return link.send(cells, wireRound, span)
    },
    pauseInput: () => link.pauseInput(),
    resumeInput: () => link.resumeInput(),
    close: () => link.close(),
    get isOpen () { return link.isOpen },
    get backlogBytes () { return link.backlogBytes },
    get roundIn () { return link.roundIn },
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

export interface ShapedOptions {
  readonly mixes: number
  readonly roundMs: number
  readonly faults?: Record<number, HopTestFaults>
  /**
   * Per mix position: how many times to hand the mix each cell its successor sent (1 as is;
   * more plays a successor that repeats cells on a circuit, as a hostile one may).
   */
  readonly fromSuccessor?: Record<number, (cell: Uint8Array) => number>
}

export async function startShaped (shaping: ShapingParams, options: ShapedOptions): Promise<ShapedCascade> {
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
  const forward: Writes[] = Array.from({ length: options.mixes }, () => (newWrites()))
  const backward: Writes[][] = Array.from({ length: hops }, () => [])
  const watchPredecessors = (node: HopNode, position: number): void => {
    const attach = node.attachPredecessor.bind(node)
    node.attachPredecessor = (link) => {
      const writes: Writes = newWrites()
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
      const tap = options.fromSuccessor?.[position]
      const tapped = (handlers: CellLinkHandlers): CellLinkHandlers => tap === undefined
        ? handlers
        : { ...handlers, onCell: (cell) => { for (let n = tap(cell); n > 0; n--) handlers.onCell(n === 1 ? cell : Uint8Array.from(cell)) } }
      const node: MixNode = new MixNode({ ...o, connectSuccessor: async (handlers) => recorded(await o.connectSuccessor(tapped(handlers)), node, forward[position - 1]!) })
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
 * Writes from round `from` on whose frame count differs from the schedule of the rounds they
 * carry; also fails if a round was written twice (one write per link per round). A write of
 * round n with span s carries the schedule of rounds n − s … n for the whole link alike
 * (PROTOCOL.md §12.2: a catch-up after rounds the node missed, rounds carried on from a
 * neighbour's late or carried writes, a drain), s below MAX_CATCH_UP_ROUNDS; such writes are
 * counted in `found.carried`. Anything else beyond that schedule (R1) is in `found.extra` when
 * `found` is given, else a mismatch; fewer frames are never right.
 */
export function mismatches (writes: Writes, from: number, expected: (round: number) => number, found?: { extra: number, carried?: number }): string[] {
  const bad: string[] = []
  const seen = new Set<number>()
  for (let i = 0; i < writes.rounds.length; i++) {
    const round = writes.rounds[i]!
    if (round < from) continue
    if (seen.has(round)) bad.push(`round ${round} written twice`)
    seen.add(round)
    const span = writes.spans[i]!
    if (span >= MAX_CATCH_UP_ROUNDS) bad.push(`round ${round}: a span of ${span} rounds`)
    let want = 0
    for (let r = round - span; r <= round; r++) want += expected(r)
    const frames = writes.frames[i]!
    if (frames === want) {
      if (span > 0 && found !== undefined) found.carried = (found.carried ?? 0) + 1
      continue
    }
    if (found !== undefined && frames > want) found.extra += frames - want
    else bad.push(`round ${round}: ${frames} frames, expected ${want} (span ${span})`)
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

