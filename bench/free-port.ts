/**
 * A loopback TCP port that was free a moment ago, for the commands that must be told their
 * port up front (`mixgate up --socks`, the cascade file of the single-mix load).
 */
import { createServer } from 'node:net'

export async function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}
