/**
 * Runs a Noise handshake over a TCP socket, under a deadline, and turns the socket into a Link.
 *
 * Both handshake messages are exactly HANDSHAKE_MESSAGE_BYTES (48) and carry no length
 * prefix, so they are cut from the stream by a FrameDecoder of that size. The initiator
 * writes message 1 at once (before the connection is even up: net.Socket queues it) and reads
 * message 2; the responder reads message 1 and answers. Whatever arrived after the last
 * message is handed to the Link: those are already batches. The Link is built in the
 * same tick the handshake completes, so the socket never lacks an 'error' listener.
 *
 * Any failure destroys the socket, wipes the handshake state and rejects with a LinkError:
 *   LINK_HANDSHAKE_TIMEOUT   the deadline passed (connect included when dialling)
 *   LINK_CONNECT_FAILED      the TCP connection could not be opened
 *   LINK_PEER_NOT_ALLOWED    KK responder: message 1 did not authenticate under the pinned key
 *   LINK_HANDSHAKE_FAILED    anything else: a refused message, the peer closing, a socket error
 */
import type { Socket } from 'node:net'
import { FrameDecoder } from './frame-decoder.js'
import { HANDSHAKE_MESSAGE_BYTES, type HandshakePattern, type HandshakeState } from './noise/handshake.js'
import { NoiseError } from './noise/errors.js'
import { LinkError, LinkErrorCode } from './errors.js'
import { Link } from './link.js'
import { copyOf, onChunks } from '../base/socket-reads.js'

const EMPTY = new Uint8Array(0)
const ignore = (): void => {}

export interface HandshakeIoOptions {
  readonly pattern: HandshakePattern
  readonly initiator: boolean
  readonly timeoutMs: number
  readonly cellSize: number
  readonly frameTimeoutMs: number
  readonly rekeyMs: number
}

/** The LinkError for a message our HandshakeState refused. */
function refusal (err: unknown, options: HandshakeIoOptions): LinkError {
  const code = err instanceof NoiseError ? err.code : 'INTERNAL'
  // In KK the initiator's static key never crosses the wire: the responder mixes the pinned
  // key into the transcript, so an initiator holding another key fails message 1's tag.
  if (options.pattern === 'KK' && !options.initiator && code === 'NOISE_DECRYPT_FAILED') {
    return new LinkError(LinkErrorCode.PEER_NOT_ALLOWED, 'the initiator did not prove the pinned static key', { detail: code })
  }
  return new LinkError(LinkErrorCode.HANDSHAKE_FAILED, 'the peer\'s handshake message was refused', { detail: code })
}

export function runHandshake (socket: Socket, handshake: HandshakeState, options: HandshakeIoOptions): Promise<Link> {
  return new Promise((resolve, reject) => {
    let settled = false
    let connected = !socket.connecting

    const fail = (err: LinkError): void => {
      if (settled) return
      settled = true
      cleanUp()
      handshake.wipe()
      socket.on('error', ignore) // a late error on the dead socket must not become an uncaught one
      socket.destroy()
      reject(err)
    }

    const onMessage = (message: Uint8Array): boolean => {
      try {
        handshake.readMessage(message)
        if (!handshake.complete) socket.write(handshake.writeMessage(EMPTY))
      } catch (err) {
        fail(refusal(err, options))
        return false
      }
      return !handshake.complete
    }

    const decoder = new FrameDecoder(HANDSHAKE_MESSAGE_BYTES, onMessage)

    const onChunk = (chunk: Uint8Array, transient: boolean): void => {
      const consumed = decoder.push(chunk)
      if (settled || !handshake.complete) return
      settled = true
      cleanUp()
      resolve(new Link({
        socket,
        cellSize: options.cellSize,
        ciphers: handshake.transport(),
        leftover: transient ? copyOf(chunk.subarray(consumed)) : chunk.subarray(consumed),
        frameTimeoutMs: options.frameTimeoutMs,
        rekeyMs: options.rekeyMs,
      }))
    }
    const onConnect = (): void => { connected = true }
    const onEnd = (): void => fail(new LinkError(LinkErrorCode.HANDSHAKE_FAILED, 'the peer closed the connection during the handshake'))
    const onError = (err: Error & { code?: string }): void => {
      fail(connected
        ? new LinkError(LinkErrorCode.HANDSHAKE_FAILED, 'the connection failed during the handshake', { detail: err.code ?? err.message })
        : new LinkError(LinkErrorCode.CONNECT_FAILED, 'could not connect to the peer', { detail: err.message }))
    }
    const timer = setTimeout(() => fail(new LinkError(LinkErrorCode.HANDSHAKE_TIMEOUT, 'the handshake did not complete in time')), options.timeoutMs)

    function cleanUp (): void {
      clearTimeout(timer)
      stopReading()
      socket.off('connect', onConnect)
      socket.off('end', onEnd)
      socket.off('close', onEnd)
      socket.off('error', onError)
    }

    const stopReading = onChunks(socket, onChunk)
    socket.on('connect', onConnect)
    socket.on('end', onEnd)
    socket.on('close', onEnd)
    socket.on('error', onError)

    if (handshake.isMyTurn) {
      try {
        socket.write(handshake.writeMessage(EMPTY))
      } catch (err) {
        fail(refusal(err, options))
      }
    }
  })
}
