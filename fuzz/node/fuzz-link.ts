/**
 * A client-side Noise NK link to the entry mix that the harness drives by hand: after a real
 * handshake it can send cells sealed correctly (so the mix decodes whatever cell we choose)
 * or raw bytes as batches (garbage, truncated batches). What the mix sends back is read and
 * dropped, so the link never backs up.
 */
import { connect, type Socket } from 'node:net'
import { CipherState } from '../../src/link/noise/cipher-state.js'
import { HANDSHAKE_MESSAGE_BYTES, HandshakeState } from '../../src/link/noise/handshake.js'

const EMPTY = new Uint8Array(0)

export class FuzzLink {
  private closedFlag = false
  private closedHere = false
  private bytesIn = 0

  private constructor (private readonly socket: Socket, private readonly sender: CipherState) {
    socket.on('data', (chunk: Buffer) => { this.bytesIn += chunk.length })
    socket.on('close', () => { this.closedFlag = true })
    socket.on('error', () => { this.closedFlag = true })
  }

  /** The node closed it (or we did). */
  get closed (): boolean { return this.closedFlag }
  /** Closed by the node, not by close(). */
  get closedByNode (): boolean { return this.closedFlag && !this.closedHere }
  get received (): number { return this.bytesIn }
  get backlog (): number { return this.socket.writableLength }

  static async open (host: string, port: number, entryKey: Uint8Array, prologue: Uint8Array, timeoutMs = 5000): Promise<FuzzLink> {
    const socket = connect({ host, port })
    socket.setNoDelay(true)
    const handshake = new HandshakeState({ pattern: 'NK', initiator: true, prologue, rs: entryKey })
    return await new Promise<FuzzLink>((resolve, reject) => {
      let buffered = Buffer.alloc(0)
      const timer = setTimeout(() => fail(new Error('fuzz link handshake timed out')), timeoutMs)
      const fail = (err: Error): void => { clearTimeout(timer); socket.removeAllListeners(); socket.on('error', () => {}); socket.destroy(); reject(err) }
      socket.on('error', fail)
      socket.on('close', () => fail(new Error('the node closed the fuzz link during the handshake')))
      socket.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk])
        if (buffered.length < HANDSHAKE_MESSAGE_BYTES) return
        clearTimeout(timer)
        socket.removeAllListeners()
        try {
          handshake.readMessage(buffered.subarray(0, HANDSHAKE_MESSAGE_BYTES))
        } catch (err) {
          fail(err as Error)
          return
        }
        resolve(new FuzzLink(socket, handshake.transport().send))
      })
      socket.write(handshake.writeMessage(EMPTY))
    })
  }

  /**
   * Seal each cell as a batch of one (PROTOCOL.md §8.4: header with count 1, body) and write
   * them at once. Any length: a wrong-sized cell makes a body of the wrong size.
   */
  sendCells (cells: readonly Uint8Array[]): void {
    if (this.closedFlag) return
    const one = Uint8Array.of(0, 1)
    this.socket.write(Buffer.concat(cells.flatMap((cell) => [this.sender.encryptWithAd(EMPTY, one), this.sender.encryptWithAd(EMPTY, cell)])))
  }

  /** Bytes straight onto the wire (garbage batches, a partial batch). */
  sendRaw (bytes: Uint8Array): void {
    if (!this.closedFlag) this.socket.write(bytes)
  }

  /** Wait until the socket's write buffer is below `bytes` (or the link closed). */
  async drained (bytes = 1 << 20): Promise<void> {
    while (!this.closedFlag && this.socket.writableLength > bytes) await new Promise((resolve) => setTimeout(resolve, 5))
  }

  close (): void {
    if (!this.closedFlag) this.closedHere = true
    this.closedFlag = true
    this.socket.destroy()
  }
}
