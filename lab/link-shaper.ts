/**
 * A userspace link shaper, for kernels without netem: a TCP relay that listens where the
 * others dial a host and forwards to where the host listens, holding every chunk back as a
 * slow link would.
 *
 *   - delay and jitter: each chunk leaves `delayMs ± jitterMs` (uniform) after it arrived,
 *     never before the chunk ahead of it (TCP keeps order, so jitter stretches the stream,
 *     it does not reorder it);
 *   - rate: chunks leave no faster than `rateBps` bytes per second, per direction;
 *   - stall: nothing leaves until the stall ends (the chunks wait, then the sender is paused);
 *   - cut: every relayed connection is reset and new ones are reset on arrival, until restored.
 *
 * Each direction of each connection has its own queue, bounded at QUEUE_LIMIT bytes: beyond it
 * the reading side is paused, so a slow link pushes back on its sender as TCP would.
 * Settings apply at once to the chunks still queued and to every connection of the link.
 */
import { createServer, connect, type Server, type Socket } from 'node:net'

export interface LinkSettings {
  readonly delayMs: number
  readonly jitterMs: number
  /** Bytes per second per direction; 0: unlimited. */
  readonly rateBps: number
  readonly stalled: boolean
  readonly cut: boolean
}

export const CLEAR_LINK: LinkSettings = { delayMs: 0, jitterMs: 0, rateBps: 0, stalled: false, cut: false }

const QUEUE_LIMIT = 256 * 1024

export interface ShapedLink {
  readonly port: number
  settings (): LinkSettings
  set (change: Partial<LinkSettings>): void
  /** Connections accepted, and reset by a cut, so far. */
  counts (): { accepted: number, cutConnections: number }
  close (): Promise<void>
}

interface Chunk { readonly data: Buffer, readonly arrived: number }

/** One direction of one relayed connection: from `source` to `sink`, shaped by `link()`. */
class Direction {
  private readonly queue: Chunk[] = []
  private queued = 0
  private lastDue = 0
  private nextFree = 0
  private timer: NodeJS.Timeout | undefined
  private ended = false

  constructor (private readonly source: Socket, private readonly sink: Socket, private readonly link: () => LinkSettings) {
    source.on('data', (data: Buffer) => {
      this.queue.push({ data, arrived: Date.now() })
      this.queued += data.length
      if (this.queued > QUEUE_LIMIT) source.pause()
      this.pump()
    })
    source.on('end', () => { this.ended = true; this.pump() })
  }

  /** When the head of the queue may leave (ms), from the link as it is now. */
  private due (chunk: Chunk): number {
    const { delayMs, jitterMs, rateBps } = this.link()
    const jitter = jitterMs === 0 ? 0 : (Math.random() * 2 - 1) * jitterMs
    let due = Math.max(chunk.arrived + Math.max(0, delayMs + jitter), this.lastDue)
    if (rateBps > 0) {
      due = Math.max(due, this.nextFree)
      this.nextFree = due + chunk.data.length * 1000 / rateBps
    }
    return due
  }

  private headDue: number | undefined

  pump (): void {
    if (this.timer !== undefined || this.sink.destroyed) return
    const link = this.link()
    if (link.stalled) return
    const now = Date.now()
    while (this.queue.length > 0) {
      const head = this.queue[0]!
      this.headDue ??= this.due(head)
      if (this.headDue > now) {
        this.timer = setTimeout(() => { this.timer = undefined; this.pump() }, Math.ceil(this.headDue - now))
        return
      }
      this.queue.shift()
      this.lastDue = this.headDue
      this.headDue = undefined
      this.queued -= head.data.length
      this.sink.write(head.data)
    }
    if (this.queued <= QUEUE_LIMIT / 2 && this.source.isPaused()) this.source.resume()
    if (this.ended) this.sink.end()
  }

  stop (): void {
    clearTimeout(this.timer)
    this.timer = undefined
  }
}

/** Relay `listen` (host, port) to `target`, shaped by the link's settings. */
export async function startShapedLink (listen: { host: string, port: number }, target: { host: string, port: number },
  initial: LinkSettings = CLEAR_LINK): Promise<ShapedLink> {
  let settings = initial
  let accepted = 0
  let cutConnections = 0
  const pairs = new Set<{ a: Socket, b: Socket, directions: Direction[] }>()
  const resetPair = (pair: { a: Socket, b: Socket, directions: Direction[] }): void => {
    for (const d of pair.directions) d.stop()
    pair.a.resetAndDestroy()
    if (!pair.b.destroyed) pair.b.resetAndDestroy()
    pairs.delete(pair)
  }
  const server: Server = createServer({ noDelay: true, pauseOnConnect: true }, (a) => {
    accepted++
    if (settings.cut) { cutConnections++; a.resetAndDestroy(); return }
    const b = connect({ host: target.host, port: target.port, noDelay: true })
    const pair = { a, b, directions: [] as Direction[] }
    pairs.add(pair)
    pair.directions.push(new Direction(a, b, () => settings), new Direction(b, a, () => settings))
    a.resume()
    const done = (): void => { if (pairs.has(pair)) resetPair(pair) }
    a.on('error', done)
    b.on('error', done)
    a.on('close', () => { if (!b.writableEnded) b.end(); if (b.destroyed) pairs.delete(pair) })
    b.on('close', () => { if (!a.writableEnded) a.end(); if (a.destroyed) pairs.delete(pair) })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(listen.port, listen.host, () => resolve())
  })
  return {
    port: (server.address() as { port: number }).port,
    settings: () => settings,
    set (change) {
      settings = { ...settings, ...change }
      if (settings.cut) {
        for (const pair of [...pairs]) { cutConnections++; resetPair(pair) }
      }
      for (const pair of pairs) for (const d of pair.directions) { d.stop(); d.pump() }
    },
    counts: () => ({ accepted, cutConnections }),
    async close () {
      for (const pair of [...pairs]) resetPair(pair)
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
