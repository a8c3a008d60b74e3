/**
 * The benchmark's origin: node:http on 127.0.0.1:0 serving from memory a prefix of one random
 * body (`/bytes/<n>`) and a 1 KiB page (`/small`). Every path the bench measures fetches from
 * this one server, so its cost is the same in every row. It counts the TCP connections it
 * accepted, which tells whether "a new connection per request" really was one.
 */
import { randomBytes } from 'node:crypto'
import { createServer, type ServerResponse } from 'node:http'
import { listenLoopback } from './loopback-server.js'

export interface Origin {
  readonly port: number
  /** The large body; `/bytes/<n>` serves its first n bytes. */
  readonly body: Buffer
  /** The 1 KiB body of `/small`. */
  readonly small: Buffer
  /** TCP connections accepted so far. */
  readonly connections: number
  close (): Promise<void>
}

const BYTES_PATH = /^\/bytes\/([0-9]{1,12})$/

export async function startOrigin (bodyBytes: number): Promise<Origin> {
  const body = randomBytes(bodyBytes)
  const small = randomBytes(1024)
  let connections = 0
  const send = (res: ServerResponse, bytes: Buffer): void => {
    res.setHeader('content-type', 'application/octet-stream')
    res.setHeader('content-length', bytes.length)
    res.end(bytes)
  }
  const server = createServer({ noDelay: true, keepAliveTimeout: 60_000 }, (req, res) => {
    const sized = BYTES_PATH.exec(req.url ?? '')
    if (req.url === '/small') send(res, small)
    else if (sized !== null && Number(sized[1]) <= body.length) send(res, body.subarray(0, Number(sized[1])))
    else { res.statusCode = 404; res.end() }
  })
  server.on('connection', () => { connections++ })
  const listening = await listenLoopback(server)
  return {
    port: listening.port,
    body,
    small,
    get connections () { return connections },
    close: listening.close,
  }
}
