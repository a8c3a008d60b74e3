/**
 * The small servers of the measuring tools (the bench's origin and SOCKS relay, the anonymity
 * lab's origins and recording relays): listen on 127.0.0.1 at a free port, remember every
 * socket they accepted (and any other they `track`, such as a relay's outgoing one), and on
 * `close` destroy them all before closing the server, so a run leaves nothing open.
 */
import type { Server as NetServer, Socket } from 'node:net'

export interface LoopbackServer {
  readonly port: number
  /** Also destroy this socket on close (accepted ones are tracked already). */
  track (socket: Socket): void
  close (): Promise<void>
}

/** Listen with `server` (node:net or node:http) on 127.0.0.1, port 0. */
export async function listenLoopback (server: NetServer): Promise<LoopbackServer> {
  const sockets = new Set<Socket>()
  const track = (socket: Socket): void => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  }
  server.on('connection', track)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  return {
    port: (server.address() as { port: number }).port,
    track,
    async close () {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
