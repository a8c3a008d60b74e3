/**
 * A mix never accepts a CREATE it has already seen, across restarts (R2). The mix runs in a
 * child process (test/fixtures/mix-child.ts) with durable onion keys in a temporary
 * directory; the exit runs here. A graceful stop keeps the key and its tag log, so the
 * restarted mix refuses the replay from its restored replay table. A SIGKILL leaves the log
 * without its clean-shutdown marker, so the restarted mix discards the key (and says so) and
 * cannot open the replay at all.
 */
import t from 'tap'
import { fork, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { cryptoReady, x25519KeyPair } from '../../src/crypto/index.js'
import { makeCascade, type Cascade } from '../../src/directory/cascade.js'
import { runExit } from '../../src/exit/run-exit.js'
import { epochAt, epochSchedule } from '../../src/protocol/epoch.js'
import { ephemeralOnionKeys } from '../../src/node/keys/onion-key-source.js'
import { freePort, memoryLogger } from '../helpers/cascade.js'
import { RawClient, type RawCircuit } from '../helpers/raw-circuit.js'
import type { MixChildSettings } from '../fixtures/mix-child.js'

await cryptoReady()

const CHILD = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'mix-child.js')
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'))

// One-hour epochs with `now` in the middle of one, so no boundary passes during the test.
const EPOCH_S = 3600
const genesis = Math.floor(Date.now() / 1000) - 1800
const schedule = epochSchedule({ epochS: EPOCH_S, genesisS: genesis })
const epoch = epochAt(schedule, Date.now() / 1000)

const dir = await mkdtemp(join(tmpdir(), 'mixgate-replay-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))
const [mixPort, exitPort] = [await freePort(), await freePort()]
const mixLink = x25519KeyPair()
const exitLink = x25519KeyPair()
const exitKeys = ephemeralOnionKeys({ schedule })
t.teardown(() => exitKeys.close())

function cascadeWith (mixKeys: ReadonlyArray<{ epoch: number, onionKey: Uint8Array }>): Cascade {
  return makeCascade({
    cellSize: 2048,
    roundMs: 10,
    epochS: EPOCH_S,
    genesis,
    hops: [
      { role: 'mix', address: { host: '127.0.0.1', port: mixPort }, linkKey: mixLink.publicKey, onionKeys: mixKeys },
      { role: 'exit', address: { host: '127.0.0.1', port: exitPort }, linkKey: exitLink.publicKey, onionKeys: exitKeys.publicKeys() },
    ],
  })
}

const exit = await runExit({
  cascade: cascadeWith([{ epoch, onionKey: new Uint8Array(32) }]),
  linkKey: exitLink,
  onionKeys: exitKeys,
  logger: memoryLogger('exit').logger,
  exitPolicy: [],
  dnsServers: ['127.0.0.1:9'],
})
t.teardown(() => exit.stop())

interface Stats { createsAccepted: number, createsRefusedReplay: number, createsRefusedAuth: number, createsRefusedNoKey: number, keyEpochs: number[] }
interface Child {
  readonly process: ChildProcess
  readonly publicKeys: Array<{ epoch: number, onionKey: Uint8Array }>
  readonly discarded: number[]
  readonly output: string[]
  stats (): Promise<Stats>
}

const children = new Set<ChildProcess>()
t.teardown(() => { for (const child of children) child.kill('SIGKILL') })

async function startChild (): Promise<Child> {
  const settings: MixChildSettings = {
    dir: join(dir, 'mix1'),
    mixPort,
    linkSecret: hex(mixLink.secretKey),
    exitPort,
    exitLinkKey: hex(exitLink.publicKey),
    exitOnionKeys: exitKeys.publicKeys().map((k) => ({ epoch: k.epoch, onionKey: hex(k.onionKey) })),
    epochS: EPOCH_S,
    genesis,
    capacity: 1024,
  }
  const child = fork(CHILD, [], { env: { ...process.env, MIXGATE_MIX_CHILD: JSON.stringify(settings) }, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] })
  children.add(child)
  child.on('exit', () => children.delete(child))
  const output: string[] = []
  child.stdout!.on('data', (chunk: Buffer) => output.push(...String(chunk).split('\n').filter((line) => line !== '')))
  const ready = await new Promise<{ publicKeys: Array<{ epoch: number, onionKey: string }>, discarded: number[] }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the mix child did not start in time')), 15_000)
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`the mix child exited with ${code}`)))
    child.on('message', (message: { type: string }) => {
      if (message.type === 'ready') { clearTimeout(timer); resolve(message as never) }
    })
  })
  return {
    process: child,
    publicKeys: ready.publicKeys.map((k) => ({ epoch: k.epoch, onionKey: bytes(k.onionKey) })),
    discarded: ready.discarded,
    output,
    stats: () => new Promise((resolve) => {
      const onMessage = (message: { type: string, stats: Stats }): void => {
        if (message.type !== 'stats') return
        child.off('message', onMessage)
        resolve(message.stats)
      }
      child.on('message', onMessage)
      child.send({ cmd: 'stats' })
    }),
  }
}

async function waitForStats (child: Child, what: string, condition: (stats: Stats) => boolean): Promise<Stats> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const stats = await child.stats()
    if (condition(stats)) return stats
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

async function connect (child: Child): Promise<RawClient> {
  const raw = await RawClient.connect(cascadeWith(child.publicKeys.length > 0 ? child.publicKeys : [{ epoch, onionKey: new Uint8Array(32) }]))
  t.teardown(() => raw.close())
  return raw
}

const refusals = (s: Stats): number => s.createsRefusedReplay + s.createsRefusedAuth + s.createsRefusedNoKey

let first: RawCircuit
let second: RawCircuit

t.test('a graceful restart keeps the key and refuses the replay from the restored table', async (t) => {
  const child = await startChild()
  t.same(child.discarded, [], 'a new key history: nothing discarded')
  const raw = await connect(child)
  first = raw.createCircuit()
  await waitForStats(child, 'the first CREATE to be accepted', (s) => s.createsAccepted === 1)

  const exited = new Promise((resolve) => child.process.once('exit', resolve))
  child.process.send({ cmd: 'stop' })
  t.equal(await exited, 0, 'the mix stopped cleanly')

  const again = await startChild()
  t.same(again.discarded, [], 'a clean stop discards nothing')
  t.ok(Buffer.from(again.publicKeys[0]!.onionKey).equals(Buffer.from(child.publicKeys[0]!.onionKey)), 'the same onion key after the restart')
  const raw2 = await connect(again)
  raw2.createOn(first.id, first.create)
  const stats = await waitForStats(again, 'the replayed CREATE to be refused', (s) => refusals(s) >= 1)
  t.equal(stats.createsRefusedReplay, 1, 'refused as a replay: the tag came back from the log')
  t.equal(stats.createsAccepted, 0, 'never accepted')

  // A CREATE this run accepts, then kill -9 before anything is closed.
  second = raw2.createCircuit()
  await waitForStats(again, 'the second CREATE to be accepted', (s) => s.createsAccepted === 1)
  const killed = new Promise((resolve) => again.process.once('exit', (_code, signal) => resolve(signal)))
  again.process.kill('SIGKILL')
  t.equal(await killed, 'SIGKILL')
})

t.test('after kill -9 the key is discarded and neither CREATE is ever accepted again', async (t) => {
  const child = await startChild()
  t.ok(child.discarded.includes(epoch), `the restarted mix reports epoch ${epoch} discarded`)
  const logged = child.output.map((line) => JSON.parse(line) as { event?: string, msg?: string, epochs?: number[] })
    .find((line) => JSON.stringify(line).includes('keys.discarded'))
  t.ok(logged !== undefined, 'and logs it')
  t.match(JSON.stringify(logged), new RegExp(`\\b${epoch}\\b`), 'naming the epoch')
  t.notOk(child.publicKeys.some((k) => k.epoch === epoch), 'it no longer publishes a key for that epoch')

  const raw = await connect(child)
  raw.createOn(first.id, first.create)
  raw.createOn(second.id, second.create)
  const stats = await waitForStats(child, 'both replays to be refused', (s) => refusals(s) >= 2)
  t.equal(stats.createsAccepted, 0, 'neither replay was accepted')
  t.equal(stats.createsRefusedReplay, 0, 'not even looked up: no key of that epoch opens them')
  t.notOk(stats.keyEpochs.includes(epoch), 'the mix holds no table for the discarded key')

  const exited = new Promise((resolve) => child.process.once('exit', resolve))
  child.process.send({ cmd: 'stop' })
  await exited
})
