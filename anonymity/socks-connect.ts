/**
 * A raw SOCKS5 CONNECT to 127.0.0.1:port through a client's SOCKS port: the chat workload's
 * long-lived socket, written and read as the app likes. With `user`, it authenticates with
 * that user name (RFC 1929; mixgate keeps different names on different circuits), else with
 * no authentication.
 */
import { connect, type Socket } from 'node:net'

export async function socksConnect (socksPort: number, targetPort: number, timeoutMs = 30_000, user?: string): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port: socksPort, noDelay: true })
  return await new Promise<Socket>((resolve, reject) => {
    let stage: 'method' | 'auth' | 'reply' = 'method'
    let buf = Buffer.alloc(0)
    const timer = setTimeout(() => fail(new Error('SOCKS connect timed out')), timeoutMs)
    const fail = (err: Error): void => {
      clearTimeout(timer)
      socket.destroy()
      reject(err)
    }
    const sendRequest = (): void => {
      stage = 'reply'
      const request = Buffer.from([5, 1, 0, 1, 127, 0, 0, 1, 0, 0])
      request.writeUInt16BE(targetPort, 8)
      socket.write(request)
    }
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk])
      if (stage === 'method') {
        if (buf.length < 2) return
        if (buf[0] !== 5 || buf[1] !== (user === undefined ? 0 : 2)) { fail(new Error('SOCKS method refused')); return }
        buf = buf.subarray(2)
        if (user === undefined) {
          sendRequest()
        } else {
          const name = Buffer.from(user)
          socket.write(Buffer.concat([Buffer.from([1, name.length]), name, Buffer.from([1, 0x78])]))
          stage = 'auth'
        }
      }
      if (stage === 'auth') {
        if (buf.length < 2) return
        if (buf[1] !== 0) { fail(new Error('SOCKS authentication refused')); return }
        buf = buf.subarray(2)
        sendRequest()
      }
      if (buf.length < 10) return
      if (buf[1] !== 0) { fail(new Error(`SOCKS reply ${buf[1]}`)); return }
      clearTimeout(timer)
      socket.off('data', onData)
      socket.off('error', fail)
      socket.off('close', onClose)
      if (buf.length > 10) socket.unshift(buf.subarray(10))
      resolve(socket)
    }
    const onClose = (): void => fail(new Error('SOCKS connection closed'))
    socket.on('data', onData)
    socket.on('error', fail)
    socket.on('close', onClose)
    socket.once('connect', () => socket.write(Buffer.from([5, 1, user === undefined ? 0 : 2])))
  })
}
