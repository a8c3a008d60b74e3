/**
 * Test helper: a real exit behind one real mix on loopback, with the exit options a test
 * chooses (caps, services, DNS servers), and a hand-made client (RawClient) that speaks
 * relay messages on one circuit: BEGIN, DATA, END, and reads what the exit answers per
 * stream. The mix may be published under a host name (`mixName`): it still listens on
 * 127.0.0.1, and the client dials it there.
 */
import { x25519KeyPair } from '../../../src/crypto/index.js'
import { makeCascade, type Cascade } from '../../../src/directory/cascade.js'
import { runExit, type RunExitOptions, type RunningExit } from '../../../src/exit/run-exit.js'
import { runMix, type RunningMix } from '../../../src/mix/run-mix.js'
import { epochSchedule } from '../../../src/protocol/epoch.js'
import { ephemeralOnionKeys } from '../../../src/node/keys/onion-key-source.js'
import { encodeBegin } from '../../../src/protocol/begin.js'
import { cellCircuitId } from '../../../src/protocol/cell.js'
import { CELL_HEADER_BYTES } from '../../../src/protocol/geometry.js'
import { decodeRelay, type RelayMessage } from '../../../src/protocol/relay-payload.js'
import { freePort, memoryLogger, waitFor } from '../../helpers/cascade.js'
import { RawClient, RelayCommand, type RawCircuit } from '../../helpers/raw-circuit.js'

export type ExitExtras = Partial<Omit<RunExitOptions, 'cascade' | 'linkKey' | 'onionKeys' | 'logger'>>

export interface ExitCascade {
  readonly cascade: Cascade
  readonly exit: RunningExit
  readonly mix: RunningMix
  /** The port the mix listens on (127.0.0.1). */
  readonly mixPort: number
  /** A client on one circuit through the mix to the exit. */
  open (): Promise<RawStreams>
  stop (): Promise<void>
}

/** One circuit's relay messages, by stream. */
export class RawStreams {
  private readonly client: RawClient
  private readonly circuit: RawCircuit
  private next = 0
  private readonly messages: RelayMessage[] = []

  constructor (client: RawClient, circuit: RawCircuit) {
    this.client = client
    this.circuit = circuit
  }

  begin (streamId: number, host: string, port: number): void {
    this.send(streamId, RelayCommand.BEGIN, encodeBegin({ host, port }))
  }

  send (streamId: number, command: RelayCommand, data?: Uint8Array): void {
    this.client.send(this.client.relayCell(this.circuit, streamId, command, data))
  }

  /** What came back on `streamId` so far (backward cells opened once each). */
  received (streamId: number): RelayMessage[] {
    for (; this.next < this.client.received.length; this.next++) {
      const cell = this.client.received[this.next]!
      if (cellCircuitId(cell) !== this.circuit.id) continue
      const opened = this.circuit.opener.open(cell.subarray(CELL_HEADER_BYTES))
      if (opened === null || opened.kind === 'pad') continue
      const message = decodeRelay(opened.payload)
      this.messages.push({ ...message, data: Uint8Array.from(message.data) })
    }
    return this.messages.filter((m) => m.streamId === streamId)
  }

  /** The exit's answer to a BEGIN: 'connected', or the END reason. */
  async answer (streamId: number): Promise<'connected' | number> {
    let answer: 'connected' | number | undefined
    await waitFor(() => {
      const first = this.received(streamId).find((m) => m.command === RelayCommand.CONNECTED || m.command === RelayCommand.END)
      if (first === undefined) return false
      answer = first.command === RelayCommand.CONNECTED ? 'connected' : first.data[0]!
      return true
    }, `the exit's answer on stream ${streamId}`)
    return answer!
  }

  /** The stream bytes that came back on `streamId`, joined. */
  data (streamId: number): string {
    return Buffer.concat(this.received(streamId).filter((m) => m.command === RelayCommand.DATA).map((m) => m.data)).toString()
  }

  close (): void { this.client.close() }
}

export async function startExitCascade (extras: ExitExtras & { mixName?: string } = {}): Promise<ExitCascade> {
  const { mixName, ...exitExtras } = extras
  const { logger } = memoryLogger('test', 'warn')
  const schedule = epochSchedule({ epochS: 3600, genesisS: 0 })
  const links = [x25519KeyPair(), x25519KeyPair()]
  const mixKeys = ephemeralOnionKeys({ schedule })
  const exitKeys = ephemeralOnionKeys({ schedule })
  const ports = [await freePort(), await freePort()]
  const mixListen = { host: '127.0.0.1', port: ports[0]! }
  const cascade = makeCascade({
    cellSize: 1024,
    roundMs: 5,
    epochS: schedule.epochS,
    genesis: schedule.genesisS,
    hops: [
      { role: 'mix', address: mixName === undefined ? mixListen : { host: mixName, port: ports[0]! }, linkKey: links[0]!.publicKey, onionKeys: mixKeys.publicKeys() },
      { role: 'exit', address: { host: '127.0.0.1', port: ports[1]! }, linkKey: links[1]!.publicKey, onionKeys: exitKeys.publicKeys() },
    ],
  })
  let exit: RunningExit | undefined
  let mix: RunningMix | undefined
  const clients: RawStreams[] = []
  const stop = async (): Promise<void> => {
    for (const client of clients) client.close()
    await mix?.stop()
    await exit?.stop()
    await mixKeys.close()
    await exitKeys.close()
  }
  try {
    exit = await runExit({
      cascade,
      linkKey: links[1]!,
      onionKeys: exitKeys,
      logger: logger.child('exit'),
      exitPolicy: ['accept 127.0.0.1:*'],
      dnsServers: ['127.0.0.1:9'],
      ...exitExtras,
    })
    mix = await runMix({ cascade, position: 1, linkKey: links[0]!, onionKeys: mixKeys, logger: logger.child('mix'), listen: mixListen })
    await waitFor(() => mix!.node.successorUp, 'the mix to reach the exit')
  } catch (err) {
    await stop()
    throw err
  }
  const running = { exit, mix }
  // The client dials the mix where it listens; the cascade's ID (the link prologue) is the same.
  const dialable: Cascade = { ...cascade, hops: [{ ...cascade.hops[0]!, address: mixListen }, cascade.hops[1]!] }
  return {
    cascade,
    exit: running.exit,
    mix: running.mix,
    mixPort: ports[0]!,
    async open () {
      const client = await RawClient.connect(dialable)
      const circuit = client.createCircuit()
      const streams = new RawStreams(client, circuit)
      clients.push(streams)
      await waitFor(() => running.exit.node.circuits >= clients.length, 'the circuit at the exit')
      return streams
    },
    stop,
  }
}
