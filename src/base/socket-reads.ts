/**
 * How a TCP socket is read: into one buffer per thread, reused by every socket this thread
 * dialled this way, or, for a socket a server accepted, as Node reads it ('data' chunks,
 * fresh each).
 *
 * Why: Node's default read allocates a fresh 64 KiB ArrayBuffer for every read. At a busy hop
 * that was one allocation per batch on every link, plus a second for the batch body that
 * straddled two such reads (nearly every full batch), and one per read of the exit's host
 * sockets: external memory the collector must account and sweep (a hop thread ran a full
 * mark-compact every 50 ms of a download), page faults on fresh memory, and glibc arenas
 * grown by the churn that stay grown (issue #17). A dialled socket can instead read into
 * memory it is given (`net.connect`'s `onread`); Node offers no such option for the sockets a
 * server accepts. The dialled side of a link is its predecessor (the client toward the entry,
 * each mix toward its successor), and the exit dials the hosts, so a download's bulk is read
 * this way all along the cascade but at the client's SOCKS port.
 *
 * The price is a rule for whoever handles a chunk: a `transient` chunk is a view of memory the
 * next read overwrites, so anything kept past the call must be copied. The link handshake
 * copies what it keeps (HandshakeState.readMessage slices the plain Uint8Array it is given),
 * the Link opens batch bodies out of it into buffers of their own (batch-reader.ts), and a
 * stream sends what it can at once and copies the rest (stream-pipe.ts).
 *
 * One buffer per thread is safe because a read callback always runs to its end before the
 * next one starts: handlers consume a chunk synchronously, and nothing reads a socket from
 * within a handler.
 */
import { connect, type Socket, type TcpNetConnectOpts } from 'node:net'

/** Called with each chunk read; `transient`: a view of reused memory (copy what you keep). */
export type ChunkHandler = (chunk: Uint8Array, transient: boolean) => void

/**
 * Bytes one read may take, as Node's own reads; allocated once per thread. 256 KiB (several
 * full batches a read, fewer straddling two) was slower: `up --shaping off` downloaded at
 * 29–36 MB/s against 42–57 with 64 KiB and kept more memory after (150–173 MB RSS against
 * 115–131); 32 KiB gave 39–55 MB/s (docs/BENCH.md "Reads into one buffer a thread").
 */
export const SHARED_READ_BYTES = 64 * 1024

let sharedBuffer: Buffer | null = null

/** The socket's reader, for a socket dialled with `connectWithSharedReads`. */
const routers = new WeakMap<Socket, ReadRouter>()

/** Passes each read of one socket to its current handler (the handshake's, then the Link's). */
class ReadRouter {
  handler: ChunkHandler | null = null
  /** Reads that came while no handler was set, copied (none are expected: see onChunks). */
  parked: Uint8Array[] = []

  readonly onRead = (bytes: number, buffer: Uint8Array): boolean => {
    // A plain Uint8Array view, never a Buffer: a Buffer's slice() is a view too, so a handler
    // that slices to keep (as the handshake does) would keep memory the next read overwrites.
    const chunk = new Uint8Array(buffer.buffer, buffer.byteOffset, bytes)
    const handler = this.handler
    if (handler === null) this.parked.push(chunk.slice())
    else handler(chunk, true)
    return true
  }
}

/** `net.connect(options)`, its reads going into this thread's shared buffer. */
export function connectWithSharedReads (options: TcpNetConnectOpts): Socket {
  sharedBuffer ??= Buffer.allocUnsafe(SHARED_READ_BYTES)
  const router = new ReadRouter()
  const socket = connect({ ...options, onread: { buffer: sharedBuffer, callback: router.onRead } })
  routers.set(socket, router)
  return socket
}

/**
 * Hand every chunk read from `socket` to `handler`, until the returned function is called.
 * A socket dialled with connectWithSharedReads gives transient chunks; any other gives
 * Node's own ('data', not transient). One handler at a time.
 */
export function onChunks (socket: Socket, handler: ChunkHandler): () => void {
  const router = routers.get(socket)
  if (router === undefined) {
    const onData = (chunk: Buffer): void => { handler(chunk, false) }
    socket.on('data', onData)
    return () => { socket.off('data', onData) }
  }
  router.handler = handler
  if (router.parked.length > 0) {
    const parked = router.parked
    router.parked = []
    for (const chunk of parked) handler(chunk, false)
  }
  return () => { if (router.handler === handler) router.handler = null }
}

/**
 * Whether `socket` reads into the shared buffer. Such a socket stops reading the moment it is
 * paused (Node reads ahead of a paused socket of its own, up to 16 KiB more), so a closing
 * peer goes unseen until it is resumed: a Link reads ahead of its start by itself (link.ts).
 */
export function hasSharedReads (socket: Socket): boolean {
  return routers.has(socket)
}

/** A copy of `bytes` in memory of its own. */
export function copyOf (bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes)
}
