/**
 * The good stream beside the fuzzing: a SOCKS5 CONNECT through the node's client to an echo
 * server, kept busy with PRNG bytes; every byte echoed must come back in order.
 */
import { connect, type Socket } from 'node:net'
import { createHash } from 'node:crypto'
import type { Prng } from '../prng.js'

export class GoodStream {
  private sent = 0
  private echoed = 0
  private readonly sentHash = createHash('sha256')
  private readonly echoHash = createHash('sha256')
  private pendingCompare: Buffer[] = []
  private pendingBytes = 0
  private mismatch = false
  private failure: string | undefined
  private ended = false

  private constructor (private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onEcho(chunk))
    socket.on('error', (err) => { this.failure ??= `socket error ${(err as NodeJS.ErrnoException).code ?? err.message}` })
    socket.on('close', () => { this.ended = true })
  }

  get bytesSent (): number { return this.sent }
  get bytesEchoed (): number { return this.echoed }
  /** Why the stream is broken, if it is. */
  get problem (): string | undefined {
    if (this.mismatch) return 'the echo differs from what was sent'
    if (this.failure !== undefined) return this.failure
    if (this.ended) return 'the stream closed early'
    return undefined
  }

  /** SOCKS5, no auth, CONNECT to 127.0.0.1:port; resolves once the client answered success. */
  static async open (socksPort: number, targetPort: number, timeoutMs = 30_000): Promise<GoodStream> {
    const socket = connect({ host: '127.0.0.1', port: socksPort })
    socket.setNoDelay(true)
    const reply = await new Promise<Buffer>((resolve, reject) => {
      let got = Buffer.alloc(0)
      const timer = setTimeout(() => { socket.destroy(); reject(new Error('no SOCKS reply in time')) }, timeoutMs)
      socket.on('error', (err) => { clearTimeout(timer); reject(err) })
      socket.on('data', function onData (chunk: Buffer) {
        got = Buffer.concat([got, chunk])
        if (got.length >= 2 + 10) { clearTimeout(timer); socket.off('data', onData); resolve(got) }
      })
      socket.write(Buffer.from([5, 1, 0]))
      socket.write(Buffer.from([5, 1, 0, 1, 127, 0, 0, 1, targetPort >>> 8, targetPort & 0xff]))
    })
    socket.removeAllListeners('error')
    if (reply[0] !== 5 || reply[1] !== 0 || reply[3] !== 0) { socket.destroy(); throw new Error(`SOCKS refused the good stream: ${reply.toString('hex')}`) }
    return new GoodStream(socket)
  }

  /** Send `n` more PRNG bytes unless too much is still in flight. */
  pump (rng: Prng, n: number, maxInFlight = 256 * 1024): void {
    if (this.ended || this.sent - this.echoed > maxInFlight) return
    const bytes = Buffer.from(rng.bytes(n))
    this.sent += n
    this.sentHash.update(bytes)
    this.pendingCompare.push(bytes)
    this.pendingBytes += n
    this.socket.write(bytes)
  }

  /** Wait until everything sent came back; then the two hashes agree, or the stream is broken. */
  async finish (timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs
    while (this.echoed < this.sent && this.problem === undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
    const complete = this.echoed === this.sent && this.problem === undefined
    this.socket.end()
    this.socket.destroy()
    return complete && this.sentHash.digest('hex') === this.echoHash.digest('hex')
  }

  private onEcho (chunk: Buffer): void {
    this.echoHash.update(chunk)
    this.echoed += chunk.length
    // Compare as it arrives, so a corruption is reported when it happens.
    let offset = 0
    while (offset < chunk.length && this.pendingCompare.length > 0) {
      const head = this.pendingCompare[0]!
      const take = Math.min(head.length, chunk.length - offset)
      if (Buffer.compare(head.subarray(0, take), chunk.subarray(offset, offset + take)) !== 0) this.mismatch = true
      offset += take
      this.pendingBytes -= take
      if (take === head.length) this.pendingCompare.shift()
      else this.pendingCompare[0] = head.subarray(take)
    }
    if (offset < chunk.length) this.mismatch = true // more came back than was sent
  }
}
