/**
 * The entry of a hop worker thread under `mixgate up` (started by hop-worker.ts from the
 * compiled code): one or more hops (mixes, the exit) on one event loop of their own, so that
 * the OS can run the hops of a cascade on different cores, while a machine with fewer cores
 * than hops need not pay for an isolate per hop (`up --hop-threads`, issue #17).
 *
 * The thread says when its code is loaded; then the parent sends, per hop (each in its slot),
 * what the hop is (with the ports it chose just then), and the thread makes its keys itself —
 * in memory, or with a key dir by keygen, with durable onion keys there — so no secret
 * crosses threads, and answers with its public keys; the parent builds the node descriptor
 * and the thread signs it. A hop starts when the parent sends the cascade it verified,
 * assembled from every hop's descriptor, and stops (node, keys) when told to; once every hop
 * of the thread stopped, nothing holds its loop and the thread ends. Each hop logs under its
 * own label to standard error, which Node forwards to the process's.
 * Messages: hop-thread-protocol.ts. What it imports is kept to what a running hop needs:
 * no schema library, no descriptor code, no key-file reader without a key dir (issue #17;
 * test/cli/up-idle-memory.test.ts).
 */
import { isMainThread, parentPort, workerData, type MessagePort } from 'node:worker_threads'
import { cryptoReady, ed25519KeyPair, memzero, randomBytes, sign, x25519KeyPair } from '../../crypto/index.js'
import { cascadeFromVerified } from '../../directory/cascade.js'
import type { EpochSchedule } from '../../protocol/epoch.js'
import { scheduleOf } from '../../protocol/cascade-params.js'
import { wipeIdentity, type NodeIdentity } from '../keys/node-identity.js'
import { ephemeralOnionKeys, openDurableOnionKeys, type OnionKeySource } from '../keys/onion-key-source.js'
import { createStreamLogger } from '../../base/stream-logger.js'
import type { Logger } from '../../base/scoped-logger.js'
import { errorToJson, fromVerifiedCascadeData, BOOTED_ID, type HopPublicKeys, type HopWorkerData, type FromHop, type HopAnswers, type HopRequest, type HopThreadConfig, type ToHop, type VerifiedCascadeData } from './hop-thread-protocol.js'
import type { HopSetup, NodeSetup } from '../start/node-setup.js'
import { startNode, type StartedNode } from '../start/start-node.js'
import { collectGarbage } from '../burst-collector.js'

/** The hop's keys and logger, before and while it runs. */
interface Hop {
  readonly config: HopThreadConfig
  readonly keys: NodeIdentity
  readonly onionKeys: OnionKeySource
  readonly schedule: EpochSchedule
  readonly logger: Logger
}

/** How often a wait for the successor link looks again. */
const SUCCESSOR_POLL_MS = 10

if (isMainThread || parentPort === null) {
  process.stderr.write('hop-thread-main: this is the thread of hops of `mixgate up`, not a command\n')
  process.exit(2)
}
serve(parentPort, (workerData as HopWorkerData | undefined)?.roles ?? [])

function serve (port: MessagePort, roles: HopWorkerData['roles']): void {
  const send = (message: FromHop): void => port.postMessage(message)
  const booted = Promise.all([cryptoReady(), ...[...new Set(roles)].map(loadRole)])
  const slots = roles.map(() => hopSlot(booted))
  const stopped = new Set<number>()

  // Listening before anything is awaited: no request is missed.
  port.on('message', ({ id, hop, request }: ToHop) => {
    const slot = slots[hop]
    const answer = slot === undefined ? Promise.reject(new Error(`hop thread: no hop in slot ${hop}`)) : slot(request)
    answer
      .then((value) => send({ id, value }), (err: unknown) => send({ id, error: errorToJson(err) }))
      .then(() => {
        // Nothing else holds the loop once every hop's node and keys are closed: the thread ends.
        if (request.op !== 'stop' || slot === undefined) return
        stopped.add(hop)
        if (stopped.size === slots.length) port.close()
      })
  })
  booted.then(() => send({ id: BOOTED_ID, value: {} }), (err: unknown) => send({ id: BOOTED_ID, error: errorToJson(err) }))
}

/** One hop of the thread: what answers its requests, from prepare to stop. */
function hopSlot (booted: Promise<unknown>): (request: HopRequest) => Promise<HopAnswers[HopRequest['op']]> {
  let hop: Promise<Hop> | undefined
  let started: Promise<StartedNode> | undefined
  const prepared = (): Promise<Hop> => hop ?? Promise.reject(new Error('hop thread: not prepared'))

  return async (request: HopRequest): Promise<HopAnswers[HopRequest['op']]> => {
    switch (request.op) {
      case 'prepare':
        if (hop !== undefined) throw new Error('hop thread: prepared twice')
        hop = booted.then(async () => await prepare(request.config))
        return { keys: publicKeys(await hop) }
      case 'sign':
        return { signature: sign((await prepared()).keys.identity.secretKey, request.message) }
      case 'start': {
        if (started !== undefined) throw new Error('hop thread: started twice')
        // The parent watches `up`'s streams and asks every thread to collect (op 'collect').
        started = prepared().then(async (h) => await startNode(setupOf(h, request.cascade), h.logger, { collectAfterBursts: false }))
        const node = await started
        return { listening: node.listening, ...(node.adminUrl === undefined ? {} : { adminUrl: node.adminUrl }) }
      }
      case 'describe':
        return { keys: publicKeys(await prepared()) }
      case 'collect':
        // One collection for the whole thread, whichever of its hops is asked.
        collectGarbage((await prepared()).logger, { streamsFreed: request.streamsFreed })
        return {}
      case 'waitForSuccessor':
        if (started === undefined) throw new Error('hop thread: not started')
        return { up: await successorWithin(await started, request.timeoutMs) }
      case 'stop':
        await stop(hop, started)
        return {}
    }
  }
}

/**
 * Load the code of a hop's role now, while the thread boots: startNode imports only the
 * roles it starts (a thread of mixes holds none of the exit's code), and by then `up` has chosen
 * its ports; the sooner a hop listens after that, the less likely another takes them.
 */
async function loadRole (role: HopWorkerData['roles'][number]): Promise<void> {
  if (role === 'mix') await import('../../mix/run-mix.js')
  if (role === 'exit') await import('../../exit/run-exit.js')
}

/** Make or load the hop's keys and open its onion keys. */
async function prepare (config: HopThreadConfig): Promise<Hop> {
  const logger = createStreamLogger({ role: config.label, level: config.log.level, format: config.log.format })
  const schedule = scheduleOf(config.described.params)
  if (config.keyDir === undefined) {
    const seed = randomBytes(32)
    const keys = { identity: ed25519KeyPair(seed), link: x25519KeyPair() }
    memzero(seed)
    return { config, keys, onionKeys: ephemeralOnionKeys({ schedule, logger }), schedule, logger }
  }
  // The key files' reader (and the config schemas behind it) only for a hop with a key dir.
  const { keygen, loadIdentity } = await import('../keys/identity.js')
  await keygen(config.keyDir)
  const keys = await loadIdentity(config.keyDir)
  try {
    const onionKeys = await openDurableOnionKeys({ dir: config.keyDir, schedule, capacity: config.replayCapacity, logger })
    return { config, keys, onionKeys, schedule, logger }
  } catch (err) {
    wipeIdentity(keys)
    throw err
  }
}

/**
 * What the hop's node descriptor says of its keys now, each in a buffer of its own: posting a
 * view would copy its whole ArrayBuffer to the parent, and a backend may keep a public key
 * beside secret bytes.
 */
function publicKeys (hop: Hop): HopPublicKeys {
  return {
    identityKey: hop.keys.identity.publicKey.slice(),
    linkKey: hop.keys.link.publicKey.slice(),
    epochKeys: hop.onionKeys.publicKeys().map(({ epoch, onionKey }) => ({ epoch, onionKey: onionKey.slice() })),
  }
}

/** The node setup of this hop in the cascade the parent verified. */
function setupOf (hop: Hop, data: VerifiedCascadeData): NodeSetup {
  const { config, keys } = hop
  const verified = fromVerifiedCascadeData(data)
  const hopSetup: HopSetup = {
    described: config.described,
    keys,
    schedule: hop.schedule,
    openOnionKeys: async () => hop.onionKeys,
    verified,
    staleCascade: false,
    ...(config.admin === undefined ? {} : { admin: config.admin }),
    ...(config.peers === undefined ? {} : { peers: config.peers }),
  }
  const common = { cascade: cascadeFromVerified(verified), linkKey: keys.link, listen: config.described.address }
  if (config.described.role === 'exit') {
    return { role: 'exit', label: config.label, log: config.log, options: { ...common, exitPolicy: config.exitPolicy ?? [], dnsServers: config.dnsServers ?? [], ...(config.limits === undefined ? {} : { limits: config.limits }) }, hop: hopSetup }
  }
  return { role: 'mix', label: config.label, log: config.log, options: { ...common, position: config.position }, hop: hopSetup }
}

/** Whether the mix's link to the next hop comes up within `timeoutMs`. */
async function successorWithin (node: StartedNode, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (node.successorUp?.() !== true) {
    if (Date.now() > deadline) return false
    await new Promise((resolve) => setTimeout(resolve, SUCCESSOR_POLL_MS))
  }
  return true
}

/** Stop the node if it started (that closes its keys); else close and wipe the keys here. */
async function stop (hop: Promise<Hop> | undefined, started: Promise<StartedNode> | undefined): Promise<void> {
  const node = await started?.catch(() => undefined)
  if (node !== undefined) {
    await node.stop()
    return
  }
  const prepared = await hop?.catch(() => undefined)
  if (prepared === undefined) return
  // After a failed start the node closed them already: a second close may refuse.
  await prepared.onionKeys.close().catch(() => {})
  wipeIdentity(prepared.keys)
}
