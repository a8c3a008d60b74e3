/**
 * A trivial SOCKS5 relay for the baseline row: CONNECT only, no authentication, IPv4 literal
 * or host name (and IPv6 for completeness), then a straight TCP pipe both ways with
 * TCP_NODELAY. No mixing, no cells, no crypto: what any SOCKS hop costs on loopback, so the
 * mixgate row can be read against a proxy and not only against a direct connection.
 */
import { connect, createServer } from 'node:net'
import { listenLoopback, type LoopbackServer } from './loopback-server.js'

export interface SocksRelay {
  readonly port: number
  close (): Promise<void>
}

const VERSION = 5
const NO_AUTH = 0
const NO_ACCEPTABLE_METHOD = 0xff
const CMD_CONNECT = 1
const ATYP_IPV4 = 1
const ATYP_NAME = 3
const ATYP_IPV6 = 4
const REP_OK = 0
const REP_FAILURE = 1
const REP_REFUSED = 5
const REP_CMD_UNSUPPORTED = 7
const REP_ATYP_UNSUPPORTED = 8

function reply (rep: number): Buffer {
  // BND.ADDR 0.0.0.0, BND.PORT 0: clients ignore them for CONNECT.
  return Buffer.from([VERSION, rep, 0, ATYP_IPV4, 0, 0, 0, 0, 0, 0])
}

interface Target { host: string, port: number, length: number }

/** Parse a CONNECT request at the front of `buf`: the target, `null` if incomplete, or a reply code. */
function parseRequest (buf: Buffer): Target | null | number {
  if (buf.length < 5) return null
  if (buf[0] !== VERSION) return REP_FAILURE
  if (buf[1] !== CMD_CONNECT) return REP_CMD_UNSUPPORTED
  const atyp = buf[3]
  let host: string
  let at: number
  if (atyp === ATYP_IPV4) {
    if (buf.length < 10) return null
    host = `${buf[4]}.${buf[5]}.${buf[6]}.${buf[7]}`
    at = 8
  } else if (atyp === ATYP_NAME) {
    const n = buf[4]!
    if (buf.length < 5 + n + 2) return null
    host = buf.toString('latin1', 5, 5 + n)
    at = 5 + n
  } else if (atyp === ATYP_IPV6) {
    if (buf.length < 22) return null
    const groups: string[] = []
    for (let i = 0; i < 8; i++) groups.push(buf.readUInt16BE(4 + 2 * i).toString(16))
    host = groups.join(':')
    at = 20
  } else {
    return REP_ATYP_UNSUPPORTED
  }
  return { host, port: buf.readUInt16BE(at), length: at + 2 }
}

export async function startSocksRelay (): Promise<SocksRelay> {
  const server = createServer({ noDelay: true }, (client) => {
    client.setNoDelay(true)
    client.on('error', () => client.destroy())
    let buf: Buffer = Buffer.alloc(0)
    let stage: 'greeting' | 'request' = 'greeting'
    const onData = (chunk: Buffer): void => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk])
      if (stage === 'greeting') {
        if (buf.length < 2) return
        const methods = buf[1]!
        if (buf.length < 2 + methods) return
        const offered = buf.subarray(2, 2 + methods)
        if (buf[0] !== VERSION || !offered.includes(NO_AUTH)) {
          client.end(Buffer.from([VERSION, NO_ACCEPTABLE_METHOD]))
          return
        }
        client.write(Buffer.from([VERSION, NO_AUTH]))
        buf = buf.subarray(2 + methods)
        stage = 'request'
      }
      const request = parseRequest(buf)
      if (request === null) return
      client.off('data', onData)
      client.pause()
      if (typeof request === 'number') { client.end(reply(request)); return }
      const early = buf.subarray(request.length)
      const upstream = connect({ host: request.host, port: request.port, noDelay: true })
      listening.track(upstream)
      let connected = false
      upstream.once('error', () => {
        if (connected) client.destroy()
        else client.end(reply(REP_REFUSED))
        upstream.destroy()
      })
      upstream.once('connect', () => {
        connected = true
        upstream.setNoDelay(true)
        client.write(reply(REP_OK))
        if (early.length > 0) upstream.write(early)
        client.on('error', () => upstream.destroy())
        client.on('close', () => upstream.destroy())
        upstream.on('close', () => client.destroy())
        client.pipe(upstream)
        upstream.pipe(client)
        client.resume()
      })
    }
    client.on('data', onData)
  })
  // Connections arrive only once it listens, so the handler always finds it set.
  const listening: LoopbackServer = await listenLoopback(server)
  return { port: listening.port, close: listening.close }
}
