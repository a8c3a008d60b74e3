/**
 * Many streams held open at once through a SOCKS5 port (issue #17): a loopback echo server
 * that keeps every connection until it is closed, and an opener that sends N SOCKS5 CONNECTs
 * (no credentials: one isolation key) toward it, checks each reply and one echoed byte, and
 * keeps every stream open until `close`. Used by the bench's held-streams phase and by
 * test/cli/up-many-streams.test.ts. Greeting and CONNECT leave in one write (the reply comes
 * only when the exit has connected), so each stream costs the app one round trip.
 */
import { connect, createServer, type Socket } from 'node:net'
import { listenLoopback, type LoopbackServer } from './loopback-server.js'

/** A server on 127.0.0.1 that echoes what it receives and never closes first. */
export async function startEchoHolder (): Promise<LoopbackServer> {
  const server = createServer((socket) => {
    socket.on('error', () => {})
    socket.on('data', (chunk) => socket.write(chunk))
  })
  return await listenLoopback(server)
}

/**
 * Why the opener stopped asking: every request was sent; `giveUpAfter` were not served in a
 * row (a bound was met); `capacity` streams were held at once (all the client holds for one
 * key: further requests could only wait); or the time cap passed (requests unanswered then
 * are abandoned). Each guarantees an end: the phase never waits for ever.
 */
export type HeldStopReason = 'all-asked' | 'failures-in-a-row' | 'capacity' | 'time-cap'

export interface HeldStreamsResult {
  readonly requested: number
  /** SOCKS reply 0 and the byte echoed back. */
  readonly served: number
  /** Streams open at once once every request was answered (served and still open). */
  readonly held: number
  /** Served streams the other side closed before the end (shaped: their circuit's scheduled end). */
  readonly cut: number
  /** SOCKS REP byte → count, for the requests that got a reply other than 0. */
  readonly replies: Readonly<Record<string, number>>
  /** Requests whose connection ended or failed before a reply (or before the echo). */
  readonly lost: number
  /** Requests still unanswered at the time cap: their connections were closed. */
  readonly abandoned: number
  /** Requests never sent, because the opener stopped asking first. */
  readonly skipped: number
  readonly stopReason: HeldStopReason
  readonly seconds: number
}

export interface HeldStreams {
  readonly result: HeldStreamsResult
  /** Send one more byte on every stream held: resolves with how many echoed it back. */
  echoEach (timeoutMs?: number): Promise<number>
  /** Close every stream this opener holds. */
  close (): void
}

export interface OpenOptions {
  readonly socksPort: number
  readonly targetPort: number
  readonly count: number
  /** Requests in flight at once (default 100): a bound on the burst, not on what is held. */
  readonly inFlight?: number
  /** Give up on one request after this long (default 60 s). */
  readonly timeoutMs?: number
  /**
   * Stop asking after this many requests in a row were not served (default: never): a bound
   * was met, and each further request would only wait for its timeout.
   */
  readonly giveUpAfter?: number
  /** Stop asking once this many streams are held at once (default: never): the most the client holds. */
  readonly capacity?: number
  /** Stop asking after this long, and abandon the requests still unanswered (default: never). */
  readonly timeCapMs?: number
}

const GREETING = Buffer.from([0x05, 0x01, 0x00])

function connectRequest (port: number): Buffer {
  return Buffer.from([0x05, 0x01, 0x00, 0x01, 127, 0, 0, 1, port >> 8, port & 0xff])
}

type Outcome = { kind: 'served' } | { kind: 'reply', rep: number } | { kind: 'lost' } | { kind: 'abandoned' }

/** The opener's sockets: those held (served, still open) and the requests in flight, each with the way to abandon it. */
interface OpenerSockets {
  readonly held: Set<Socket>
  readonly inFlight: Map<Socket, () => void>
}

/**
 * One stream: method reply (2 bytes), CONNECT reply (10 bytes, BND IPv4), then one byte out
 * and its echo back. The socket stays open when served.
 */
function openOne (sockets: OpenerSockets, socksPort: number, request: Buffer, timeoutMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = connect(socksPort, '127.0.0.1')
    let got = Buffer.alloc(0)
    let stage: 'reply' | 'echo' = 'reply'
    let settled = false
    const timer = setTimeout(() => finish({ kind: 'lost' }), timeoutMs)
    const finish = (outcome: Outcome): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      sockets.inFlight.delete(socket)
      socket.removeAllListeners('data')
      if (outcome.kind === 'served') sockets.held.add(socket)
      else socket.destroy()
      resolve(outcome)
    }
    sockets.inFlight.set(socket, () => finish({ kind: 'abandoned' }))
    socket.on('error', () => finish({ kind: 'lost' }))
    socket.on('close', () => { sockets.held.delete(socket); finish({ kind: 'lost' }) })
    socket.on('data', (chunk) => {
      got = Buffer.concat([got, chunk])
      if (stage === 'reply') {
        if (got.length >= 2 && got[1] !== 0x00) { finish({ kind: 'lost' }); return }
        if (got.length < 4) return
        const rep = got[3]!
        if (rep !== 0x00) { finish({ kind: 'reply', rep }); return }
        if (got.length < 12) return
        got = got.subarray(12)
        stage = 'echo'
        socket.write('x')
      }
      if (stage === 'echo' && got.length >= 1) finish(got[0] === 0x78 ? { kind: 'served' } : { kind: 'lost' })
    })
    socket.write(Buffer.concat([GREETING, request]))
  })
}

/** One byte out on an open stream and the same byte back. */
function echoOne (socket: Socket, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ok: boolean): void => { clearTimeout(timer); socket.off('data', onData); socket.off('close', onClose); resolve(ok) }
    const onData = (chunk: Buffer): void => done(chunk[0] === 0x79)
    const onClose = (): void => done(false)
    const timer = setTimeout(() => done(false), timeoutMs)
    socket.on('data', onData)
    socket.on('close', onClose)
    socket.write('y')
  })
}

/**
 * Open `count` streams, at most `inFlight` waiting for their answer at once; resolves when
 * the opener stops asking (HeldStopReason) and every request sent is answered or abandoned.
 */
export async function openHeldStreams (o: OpenOptions): Promise<HeldStreams> {
  const sockets: OpenerSockets = { held: new Set(), inFlight: new Map() }
  const request = connectRequest(o.targetPort)
  const inFlight = o.inFlight ?? 100
  const timeoutMs = o.timeoutMs ?? 60_000
  const replies: Record<string, number> = {}
  let served = 0
  let lost = 0
  let abandoned = 0
  let next = 0
  let failedInARow = 0
  let stopReason: HeldStopReason | undefined
  const started = performance.now()
  const timeCap = o.timeCapMs === undefined
    ? undefined
    : setTimeout(() => {
      stopReason ??= 'time-cap'
      for (const abandon of [...sockets.inFlight.values()]) abandon()
    }, o.timeCapMs)
  /** Whether to send one more request; the first reason to stop is kept. */
  const asking = (): boolean => {
    if (stopReason !== undefined) return false
    if (next >= o.count) stopReason = 'all-asked'
    else if (failedInARow >= (o.giveUpAfter ?? Infinity)) stopReason = 'failures-in-a-row'
    else if (sockets.held.size >= (o.capacity ?? Infinity)) stopReason = 'capacity'
    return stopReason === undefined
  }
  const worker = async (): Promise<void> => {
    while (asking()) {
      next++
      const outcome = await openOne(sockets, o.socksPort, request, timeoutMs)
      failedInARow = outcome.kind === 'served' ? 0 : failedInARow + 1
      if (outcome.kind === 'served') served++
      else if (outcome.kind === 'lost') lost++
      else if (outcome.kind === 'abandoned') abandoned++
      else replies[String(outcome.rep)] = (replies[String(outcome.rep)] ?? 0) + 1
    }
  }
  try {
    await Promise.all(Array.from({ length: Math.min(inFlight, o.count) }, worker))
  } finally {
    clearTimeout(timeCap)
  }
  const seconds = (performance.now() - started) / 1000
  const held = sockets.held.size
  return {
    result: { requested: o.count, served, held, cut: served - held, replies, lost, abandoned, skipped: o.count - next, stopReason: stopReason ?? 'all-asked', seconds },
    async echoEach (timeoutMs = 30_000) {
      const echoes = await Promise.all([...sockets.held].map((socket) => echoOne(socket, timeoutMs)))
      return echoes.filter(Boolean).length
    },
    close () {
      for (const socket of sockets.held) socket.destroy()
      sockets.held.clear()
    },
  }
}
