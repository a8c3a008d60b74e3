/**
 * The whole-node harness: a real one-mix cascade in a child process (child.ts), a good
 * stream through it that keeps transferring, and, from second and further Noise links to the
 * entry mix, random and mutated cells and frames:
 *
 *   - every cell command (and unknown ones), random circuit IDs, wrong-sized cells, PADDING
 *     and DESTROY with garbage bodies, CREATEs with garbage or mutated onions;
 *   - RELAY cells on the harness's own live circuits, sealed for every hop with the client's
 *     sealing code so the exit really decodes them: every relay command at its largest and
 *     one byte over, random payloads, BEGINs to random addresses (the policy refuses all but
 *     the echo server), stream commands on unknown streams, random control bytes; and
 *     circuits whose exit layer is garbage (valid for the mix, refused at the exit);
 *   - raw frames: garbage after the handshake, a frame cut short.
 *
 * Pass: the child never died and reported no uncaught exception, its RSS and heap stayed
 * under the bounds, and the good stream echoed every byte intact.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { linkPrologue, onionKeysFor, cascadeEpochAt, type Cascade } from '../../src/directory/cascade.js'
import { CellCommand, encodeCell, writeCellHeader } from '../../src/protocol/cell.js'
import type { Geometry } from '../../src/protocol/geometry.js'
import { createOnion } from '../../src/protocol/onion.js'
import { ForwardSealer } from '../../src/protocol/relay-layers.js'
import { encodeRelay, RelayCommand } from '../../src/protocol/relay-payload.js'
import { encodeBegin } from '../../src/protocol/begin.js'
import { hexOf } from '../engine.js'
import { mutateBytes } from '../mutate.js'
import { Prng } from '../prng.js'
import { FuzzLink } from './fuzz-link.js'
import { GoodStream } from './good-stream.js'
import { startNodeChild, type NodeChild, type Uncaught } from './node-child.js'

export interface WholeNodeOptions {
  readonly seed: number
  readonly durationMs: number
  /** Send forward LOOPs larger than a backward payload holds (the known exit crash, until fixed). */
  readonly oversizeLoops?: boolean
  readonly cellSize?: number
  readonly maxRssMb?: number
  readonly maxHeapMb?: number
  /** Progress lines (default: none). */
  readonly log?: (line: string) => void
  /** Where the report of a dead child is saved (default fuzz/crashes). */
  readonly crashDir?: string | null
}


export interface WholeNodeReport {
  readonly passed: boolean
  readonly problems: string[]
  readonly summary: string
  readonly seed: number
  readonly seconds: number
  readonly cellsSent: number
  readonly rawFrames: number
  readonly byKind: Record<string, number>
  readonly linksOpened: number
  readonly linksClosedByNode: number
  readonly circuitsBuilt: number
  readonly goodStreamBytes: number
  readonly maxRssMb: number
  readonly maxHeapMb: number
  readonly uncaught?: Uncaught
  /** The last actions before the child died (kind and bytes), to find the input that killed it. */
  readonly lastActions?: string[]
  readonly childStats?: { mix: Record<string, number>, exit: Record<string, number> }
  readonly crashFile?: string
}

interface LiveCircuit {
  readonly id: number
  readonly sealer: ForwardSealer
  /** Sealed with a wrong exit key: the mix opens its layer, the exit refuses. */
  readonly badExitLayer: boolean
  nextStream: number
}

const HERE = dirname(fileURLToPath(import.meta.url))
const ROOT = resolve(HERE, '..', '..', '..')
const MAX_CIRCUITS_PER_LINK = 24
const RING = 40

export async function runWholeNode (options: WholeNodeOptions): Promise<WholeNodeReport> {
  const started = Date.now()
  const rng = new Prng(options.seed ^ 0x6e6f6465)
  const log = options.log ?? ((): void => {})
  const maxRssMb = options.maxRssMb ?? 512
  const maxHeapMb = options.maxHeapMb ?? 256
  const oversizeLoops = options.oversizeLoops ?? true
  const problems: string[] = []
  const byKind: Record<string, number> = {}
  const ring: string[] = []
  let cellsSent = 0
  let rawFrames = 0
  let linksOpened = 0
  let linksRefused = 0
  let linksClosedByNode = 0
  let circuitsBuilt = 0

  let node: NodeChild | undefined
  const links: FuzzLink[] = []
  const circuits = new Map<FuzzLink, LiveCircuit[]>()
  let good: GoodStream | undefined
  try {
    node = await startNodeChild(options.cellSize ?? 1024)
    const child = node
    const alive = (): boolean => child.alive()
    const cascade = node.cascade
    const geometry = cascade.geometry
    const entry = cascade.hops[0]!
    const prologue = linkPrologue(cascade, 1)
    const openLink = async (): Promise<FuzzLink> => {
      // Every fuzz link comes from 127.0.0.1: past the listener's per-source handshake rate
      // the node resets the connection before its handshake, as it should (PROTOCOL.md §8.5).
      // That is a refusal, not a failure: wait for the rate to allow another, a bounded number of times.
      let link: FuzzLink | undefined
      for (let attempt = 0; link === undefined; attempt++) {
        try {
          link = await FuzzLink.open(entry.address.host, entry.address.port, entry.linkKey, prologue)
        } catch (err) {
          const code = (err as { code?: string }).code
          const refused = code === 'ECONNRESET' || /closed the fuzz link during the handshake/.test((err as Error).message)
          if (!refused || attempt >= 50 || !alive()) throw err
          linksRefused++
          await new Promise((resolve) => setTimeout(resolve, 120))
        }
      }
      linksOpened++
      links.push(link)
      circuits.set(link, [])
      return link
    }
    good = await GoodStream.open(node.socksPort, node.echoPort)
    log(`whole-node: child ${node.pid} up (cell ${geometry.cellSize}, 1 mix + exit), good stream open`)
    await openLink()
    await openLink()
    const deadline = started + options.durationMs
    let lastMemory = 0
    let lastLog = Date.now()
    while (Date.now() < deadline && alive()) {
      good.pump(rng, rng.int(1, 4096))
      // Replace links the node closed (garbage frames close them, as they should).
      for (let i = 0; i < links.length; i++) {
        if (links[i]!.closed) {
          if (links[i]!.closedByNode) linksClosedByNode++
          circuits.delete(links[i]!)
          links.splice(i, 1)
          i--
        }
      }
      while (links.length < 2) await openLink()
      const link = rng.pick(links)
      const batch: Uint8Array[] = []
      for (let n = rng.int(1, 16); n > 0; n--) {
        const action = nextAction(rng, cascade, geometry, circuits.get(link)!, oversizeLoops)
        byKind[action.kind] = (byKind[action.kind] ?? 0) + 1
        ring.push(`${action.kind} ${hexOf(action.bytes, 160)}`)
        if (ring.length > RING) ring.shift()
        if (action.raw) {
          link.sendCells(batch.splice(0))
          link.sendRaw(action.bytes)
          rawFrames++
          if (action.kind === 'frame-truncated') link.close()
          break
        }
        if (action.kind === 'create-valid') circuitsBuilt++
        batch.push(action.bytes)
      }
      cellsSent += batch.length
      link.sendCells(batch)
      await link.drained()
      if (good.problem !== undefined) { problems.push(`the good stream broke: ${good.problem}`); break }
      if (Date.now() - lastMemory > 500) {
        lastMemory = Date.now()
        await node.sample()
      } else {
        await new Promise((resolve) => setImmediate(resolve))
      }
      if (Date.now() - lastLog > 10_000) {
        lastLog = Date.now()
        log(`whole-node: ${Math.round((Date.now() - started) / 1000)} s, ${cellsSent} cells, ${rawFrames} raw frames, ${linksOpened} links, good stream ${good.bytesEchoed} bytes, rss ${mb(node.maxRss)} MB`)
      }
    }
    if (alive()) {
      await node.sample()
      if (!(await good.finish(30_000))) problems.push(`the good stream did not complete intact (${good.bytesEchoed} of ${good.bytesSent} bytes echoed${good.problem === undefined ? '' : `: ${good.problem}`})`)
    }
  } catch (err) {
    problems.push(`harness: ${(err as Error).message}`)
  } finally {
    for (const link of links) link.close()
  }
  // A crash can take a moment to be reported.
  await node?.settle()
  const uncaught = node?.uncaught()
  const exited = node?.exited()
  const maxRss = node?.maxRss ?? 0
  const maxHeap = node?.maxHeap ?? 0
  const childStats = node?.stats
  if (uncaught !== undefined) problems.push(`the node threw ${uncaught.name}${uncaught.code === undefined ? '' : ` (${uncaught.code})`}: ${uncaught.message} [${uncaught.kind}]`)
  else if (exited !== undefined) problems.push(`the node exited (code ${exited.code}, signal ${exited.signal}): ${node!.stderrTail().slice(-500)}`)
  if (mb(maxRss) > maxRssMb) problems.push(`RSS reached ${mb(maxRss)} MB (bound ${maxRssMb})`)
  if (mb(maxHeap) > maxHeapMb) problems.push(`heap reached ${mb(maxHeap)} MB (bound ${maxHeapMb})`)
  await node?.stop()
  const died = uncaught !== undefined || exited !== undefined
  const report: WholeNodeReport = {
    passed: problems.length === 0,
    problems,
    summary: `${cellsSent} cells, ${rawFrames} raw frames, ${linksOpened} links (${linksClosedByNode} closed by the node, ${linksRefused} refused at the listener's rate), ${circuitsBuilt} circuits built, good stream ${good?.bytesEchoed ?? 0} bytes, max RSS ${mb(maxRss)} MB, heap ${mb(maxHeap)} MB, ${((Date.now() - started) / 1000).toFixed(1)} s`,
    seed: options.seed,
    seconds: (Date.now() - started) / 1000,
    cellsSent,
    rawFrames,
    byKind,
    linksOpened,
    linksClosedByNode,
    circuitsBuilt,
    goodStreamBytes: good?.bytesEchoed ?? 0,
    maxRssMb: mb(maxRss),
    maxHeapMb: mb(maxHeap),
    ...(uncaught === undefined ? {} : { uncaught }),
    ...(died ? { lastActions: [...ring] } : {}),
    ...(childStats === undefined ? {} : { childStats }),
  }
  if (died && options.crashDir !== null) {
    const dir = options.crashDir ?? join(ROOT, 'fuzz', 'crashes')
    mkdirSync(dir, { recursive: true })
    const file = join(dir, `whole-node-seed${options.seed}-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}.json`)
    writeFileSync(file, JSON.stringify(report, null, 2) + '\n')
    return { ...report, crashFile: file }
  }
  return report
}

function mb (bytes: number): number {
  return Math.round(bytes / 1024 / 1024)
}

interface Action { readonly kind: string, readonly bytes: Uint8Array, readonly raw?: boolean }

/** One thing to send on `link`: a cell (most of the time) or raw frame bytes. */
function nextAction (rng: Prng, cascade: Cascade, g: Geometry, live: LiveCircuit[], oversizeLoops: boolean): Action {
  const randomId = (): number => rng.chance(0.1) ? rng.pick([0, 1, 0xffffffff]) : live.length > 0 && rng.chance(0.5) ? rng.pick(live).id : rng.u32()
  const roll = rng.below(100)
  if (roll < 30 && live.length > 0) return relayOnLive(rng, g, rng.pick(live), oversizeLoops)
  if (roll < 38 || live.length === 0) {
    if (live.length >= MAX_CIRCUITS_PER_LINK) live.splice(rng.below(live.length), 1)
    return createValid(rng, cascade, g, live)
  }
  if (roll < 50) { // any cell command (and unknown ones), random body
    const cell = rng.bytes(g.cellSize)
    writeCellHeader(cell, randomId(), (rng.chance(0.8) ? rng.below(4) : rng.below(256)) as CellCommand)
    if (rng.chance(0.5)) cell.fill(0, 5 + rng.below(g.bodyBytes))
    return { kind: 'cell-random', bytes: cell }
  }
  if (roll < 58) { // a CREATE with garbage or a mutated valid onion
    const keys = onionKeysFor(cascade, cascadeEpochAt(cascade))!
    const onion = createOnion(keys, { geometry: g, cascadeId: cascade.id, epoch: cascadeEpochAt(cascade) }, keys.map(() => rng.bytes(32)))
    const body = rng.chance(0.3) ? rng.bytes(g.bodyBytes) : mutateBytes(rng, { corpus: [onion.header] }).subarray(0, g.bodyBytes)
    return { kind: 'create-garbage', bytes: encodeCell(g, rng.int(1, 0xffffffff), CellCommand.CREATE, body) }
  }
  if (roll < 64) { // DESTROY (random reason, on a live circuit or not) and PADDING with a body
    if (rng.chance(0.5)) {
      const id = randomId() || 1
      const i = live.findIndex((c) => c.id === id)
      if (i >= 0) live.splice(i, 1)
      const cell = encodeCell(g, id, CellCommand.DESTROY, Uint8Array.of(rng.u32() & 0xff))
      if (rng.chance(0.3)) cell[5 + rng.int(1, g.bodyBytes - 1)] = rng.int(1, 255)
      return { kind: 'destroy', bytes: cell }
    }
    const cell = encodeCell(g, 0, CellCommand.PADDING)
    if (rng.chance(0.7)) cell[5 + rng.below(g.bodyBytes)] = rng.int(1, 255)
    return { kind: 'padding', bytes: cell }
  }
  if (roll < 70) { // a wrong-sized cell, sealed correctly: a frame of the wrong size
    const size = rng.pick([0, 1, 5, g.cellSize - 1, g.cellSize + 1, rng.int(0, 2 * g.cellSize)])
    return { kind: 'cell-wrong-size', bytes: rng.bytes(size) }
  }
  if (roll < 96) return relayRandomId(rng, g, randomId())
  // Raw frames: garbage (the node closes the link), or a frame cut short (we close it).
  if (rng.chance(0.5)) return { kind: 'frame-garbage', bytes: rng.bytes(rng.int(1, 3 * (g.cellSize + 16))), raw: true }
  return { kind: 'frame-truncated', bytes: rng.bytes(rng.int(1, g.cellSize + 15)), raw: true }
}

function createValid (rng: Prng, cascade: Cascade, g: Geometry, live: LiveCircuit[]): Action {
  const epoch = cascadeEpochAt(cascade)
  const keys = onionKeysFor(cascade, epoch)!
  const onion = createOnion(keys, { geometry: g, cascadeId: cascade.id, epoch }, keys.map(() => rng.bytes(32)))
  const badExitLayer = rng.chance(0.15)
  const hopKeys = badExitLayer
    ? onion.hopKeys.map((k, i) => i === onion.hopKeys.length - 1 ? { forward: rng.bytes(32), backward: k.backward } : k)
    : onion.hopKeys
  const id = rng.int(1, 0xffffffff)
  live.push({ id, sealer: new ForwardSealer(g, hopKeys), badExitLayer, nextStream: 1 })
  return { kind: 'create-valid', bytes: encodeCell(g, id, CellCommand.CREATE, onion.header) }
}

/** A RELAY cell on a live circuit with every layer valid: the exit decodes the payload. */
function relayOnLive (rng: Prng, g: Geometry, circuit: LiveCircuit, oversizeLoops: boolean): Action {
  const { kind, payload } = relayPayload(rng, g, circuit, oversizeLoops)
  const control = rng.chance(0.8) ? 0 : rng.u32() & 0xff
  const body = circuit.sealer.seal(payload, control)
  return { kind: `${circuit.badExitLayer ? 'relay-bad-exit-layer' : 'relay'} ${kind}`, bytes: encodeCell(g, circuit.id, CellCommand.RELAY, body) }
}

function relayPayload (rng: Prng, g: Geometry, circuit: LiveCircuit, oversizeLoops: boolean): { kind: string, payload: Uint8Array } {
  const P = g.forwardPayloadBytes
  const maxData = P - 5
  const stream = (): number => rng.chance(0.6) ? circuit.nextStream : rng.int(1, 0xffff)
  switch (rng.below(13)) {
    case 0: return { kind: 'random-payload', payload: rng.bytes(P) }
    case 1: { // one byte over: the length field says more than the payload holds
      const payload = encodeRelay(P, rng.int(0, 0xffff) || 1, RelayCommand.DATA, rng.bytes(maxData))
      payload[2] = rng.int(0, 9)
      payload[3] = (maxData + 1) >>> 8; payload[4] = (maxData + 1) & 0xff
      return { kind: 'length-one-over', payload }
    }
    case 2: { // a BEGIN to a random address (the policy refuses everything but the echo server)
      const host = rng.pick([
        `${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(0, 255)}`,
        'localhost', 'example.invalid', 'a'.repeat(rng.int(1, 255)), '::1', '2001:db8::1',
      ])
      const begin = encodeBegin({ host, port: rng.int(1, 65535) }, rng.chance(0.3) ? rng.bytes(rng.int(1, maxData - 270)) : undefined)
      const id = circuit.nextStream++
      return { kind: 'begin', payload: encodeRelay(P, id, RelayCommand.BEGIN, begin) }
    }
    case 3: { // a BEGIN whose body is garbage
      const id = circuit.nextStream++
      return { kind: 'begin-garbage', payload: encodeRelay(P, id, RelayCommand.BEGIN, rng.bytes(rng.int(0, maxData))) }
    }
    case 4: return { kind: 'data-max', payload: encodeRelay(P, stream(), RelayCommand.DATA, rng.bytes(maxData)) }
    case 5: return { kind: 'end', payload: encodeRelay(P, stream(), RelayCommand.END, Uint8Array.of(rng.int(1, 14))) }
    case 6: return { kind: 'sendme', payload: encodeRelay(P, rng.chance(0.5) ? 0 : stream(), RelayCommand.SENDME) }
    case 7: return { kind: 'drop-max', payload: encodeRelay(P, 0, RelayCommand.DROP, rng.bytes(maxData)) }
    case 8: { // LOOP: the largest a backward payload can echo, or (known crash) the largest forward one
      const backwardMax = g.backwardDataBytes
      const size = oversizeLoops ? rng.pick([56, backwardMax, backwardMax + 1, maxData]) : rng.pick([0, 56, backwardMax])
      return { kind: `loop-${size}`, payload: encodeRelay(P, 0, RelayCommand.LOOP, rng.bytes(size)) }
    }
    case 9: return { kind: 'connected', payload: encodeRelay(P, stream(), RelayCommand.CONNECTED) }
    case 10: return { kind: 'finish', payload: encodeRelay(P, stream(), RelayCommand.FINISH) }
    case 11: { // a valid payload with a few bytes changed
      const base = encodeRelay(P, stream(), rng.pick([RelayCommand.BEGIN, RelayCommand.DATA, RelayCommand.END]), Uint8Array.of(1))
      const mutated = mutateBytes(rng, { corpus: [base], hints: [{ offset: 3, width: 2 }] })
      const payload = new Uint8Array(P) // the sealer takes exactly a forward payload
      payload.set(mutated.subarray(0, P))
      return { kind: 'mutated', payload }
    }
    default: return { kind: 'unknown-command', payload: (() => { const p = rng.bytes(P); p[2] = rng.pick([0, 9, 0x80, 0xff]); return p })() }
  }
}

/** A RELAY cell on a random circuit ID: unknown circuits, or live ones with a wrong layer. */
function relayRandomId (rng: Prng, g: Geometry, id: number): Action {
  const body = rng.bytes(g.bodyBytes)
  return { kind: 'relay-random', bytes: encodeCell(g, id === 0 ? 1 : id, CellCommand.RELAY, body) }
}

