/**
 * Free TCP ports on one host, chosen before the nodes start: the cascade file names every
 * hop's address, so its ports must be known before anything listens on them.
 */
import { createServer, type Server } from 'node:net'

/**
 * `count` distinct ports that were free on `host` a moment ago. All probe sockets stay open
 * until every port is chosen, so the OS cannot hand out the same port twice; another
 * program could still take one before the node listens (the node then says so and stops).
 */
export async function freePorts (host: string, count: number): Promise<number[]> {
  const servers: Server[] = []
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer()
      servers.push(server)
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(0, host, () => resolve())
      })
    }
    return servers.map((server) => (server.address() as { port: number }).port)
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => {
      if (server.listening) server.close(() => resolve())
      else resolve()
    })))
  }
}
