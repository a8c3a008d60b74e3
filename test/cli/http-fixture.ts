/**
 * Test helper: a local HTTP server on 127.0.0.1:0 answering GET /body with a fixed random
 * body, closed at teardown.
 */
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'

interface Teardown {
  teardown (fn: () => unknown): void
}

export async function startHttpServer (t: Teardown, bytes = 256 * 1024 + 3): Promise<{ port: number, body: Buffer }> {
  const body = randomBytes(bytes)
  const server = createServer((req, res) => {
    if (req.url === '/body') {
      res.setHeader('content-length', body.length)
      res.end(body)
      return
    }
    res.statusCode = 404
    res.end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  }))
  return { port: (server.address() as { port: number }).port, body }
}
