/**
 * The part of an app connection to a front door (SOCKS, HTTP CONNECT) that does not depend
 * on the protocol: the socket's listeners, the handshake timer, the wait for the connect
 * handler's answer, the hand-off, and the linger after a failure answer.
 *
 *   handshake states (the protocol's) → PENDING → OPEN      (accept(): the caller owns the socket)
 *                                     ↘ failure answer, reject(), timeout → CLOSING → CLOSED
 *
 * The protocol's connection (socks-connection.ts, http-connection.ts) owns one of these and
 * drives it; what differs between the protocols (their errors, their answers) it gives as a
 * DoorProtocol. After a failure answer the socket is ended, not destroyed, and what the app
 * still sends is read and dropped until it closes (bounded by the linger timer): closing with
 * unread bytes would send a TCP RST, and an app that pipelined data could lose the answer.
 */
import type { Socket } from 'node:net'

/** The states after the handshake, the same on every door. */
export const DoorState = {
  PENDING: 'pending',
  OPEN: 'open',
  CLOSING: 'closing',
  CLOSED: 'closed',
} as const
export type DoorState = typeof DoorState[keyof typeof DoorState]

export interface DoorTimings {
  readonly handshakeTimeoutMs: number
  readonly lingerMs: number
}

/** The front's events a door raises itself; `Owner` is the protocol's connection. */
export interface DoorEvents<Owner> {
  accepted (): void
  /** The connection no longer needs the front: handed off (OPEN) or CLOSED. */
  released (connection: Owner): void
}

/** What only the protocol knows: its errors and how it fails. */
export interface DoorProtocol {
  /** The handshake did not complete within handshakeTimeoutMs. */
  handshakeTimedOut (): void
  /** The app ended or reset (`err`) its socket during the handshake. */
  appLeftHandshake (err: Error | undefined): void
  /** The connect handler threw or its promise rejected. */
  handlerFailed (cause: unknown): void
  /** The protocol's typed INVALID_USE error, for a handler that answers wrongly. */
  invalidUse (message: string): Error
}

export class DoorConnection<Owner, Handshake extends string> {
  readonly #socket: Socket
  readonly #timings: DoorTimings
  readonly #events: DoorEvents<Owner>
  readonly #owner: Owner
  readonly #protocol: DoorProtocol
  #state: Handshake | DoorState
  #handshakeTimer: NodeJS.Timeout | undefined
  #lingerTimer: NodeJS.Timeout | undefined

  constructor (socket: Socket, firstState: Handshake, timings: DoorTimings, events: DoorEvents<Owner>, owner: Owner, protocol: DoorProtocol) {
    this.#socket = socket
    this.#timings = timings
    this.#events = events
    this.#owner = owner
    this.#protocol = protocol
    this.#state = firstState
    socket.setNoDelay(true)
    // Kept for the socket's whole life, even after hand-off: an app's reset must never become
    // an unhandled 'error' that takes the whole front down.
    socket.on('error', (err) => { this.#onSocketGone(err) })
    socket.on('end', () => { this.#onSocketGone(undefined) })
    socket.on('close', () => { this.#onClose() })
    this.#handshakeTimer = setTimeout(() => { protocol.handshakeTimedOut() }, timings.handshakeTimeoutMs)
  }

  get state (): Handshake | DoorState {
    return this.#state
  }

  set state (state: Handshake | DoorState) {
    this.#state = state
  }

  get handshaking (): boolean {
    return !isDoorState(this.#state)
  }

  /** The handshake is complete: no more timeout, the request waits for the handler's answer. */
  enterPending (): void {
    clearTimeout(this.#handshakeTimer)
    this.#handshakeTimer = undefined
    this.#state = DoorState.PENDING
  }

  /** Closes at once (the front is shutting down): not the app's fault, so no error is reported. */
  destroy (): void {
    this.#clearTimers()
    if (this.#state !== DoorState.OPEN) this.#state = DoorState.CLOSED
    this.#socket.destroy()
  }

  /** Run a request handler: a throw or a rejected promise goes to the protocol's handlerFailed. */
  callHandler (handler: () => void | Promise<void>): void {
    try {
      const result = handler()
      if (result !== undefined && typeof result.then === 'function') {
        result.then(undefined, (err: unknown) => { this.#protocol.handlerFailed(err) })
      }
    } catch (err) {
      this.#protocol.handlerFailed(err)
    }
  }

  /** PendingConnect.takeEarlyData. */
  takeEarlyData (): Buffer[] {
    if (this.#state !== DoorState.PENDING && this.#state !== DoorState.OPEN) return []
    const chunks: Buffer[] = []
    for (let chunk = this.#socket.read() as Buffer | null; chunk !== null; chunk = this.#socket.read() as Buffer | null) {
      chunks.push(chunk)
    }
    return chunks
  }

  /** Sends the success answer and hands the socket off; false if the app already went away. */
  accept (reply: Buffer): boolean {
    if (!this.answerable('accept')) return false
    this.#state = DoorState.OPEN
    this.#socket.write(reply)
    this.#events.accepted()
    this.#events.released(this.#owner)
    return true
  }

  /** PendingConnect.reject: checks the code and the state, then lets `reject` answer. */
  rejectByCaller (rep: number, reject: (rep: number) => void): boolean {
    if (!Number.isInteger(rep) || rep < 0x01 || rep > 0xff) {
      throw this.#protocol.invalidUse('reject() needs a failure REP code, 0x01..0xFF')
    }
    if (!this.answerable('reject')) return false
    reject(rep)
    return true
  }

  /**
   * Whether the handler's answer `what` can still be sent: false if the app went away;
   * throws INVALID_USE if the request was already answered.
   */
  answerable (what: string): boolean {
    if (this.#appGone()) return false
    if (this.#state !== DoorState.PENDING) {
      throw this.#protocol.invalidUse(`${what}() on a request already answered (state ${this.#state})`)
    }
    return true
  }

  /** The request still waits for an answer and the app for it (a failed handler then answers). */
  get unanswered (): boolean {
    return this.#state === DoorState.PENDING && !this.#appGone()
  }

  /** Sends the last bytes (if any), ends the socket and lingers: see the file comment. */
  closeAfter (answer: Buffer | undefined): void {
    this.#clearTimers()
    if (!this.#socket.destroyed) {
      if (answer === undefined) this.#socket.end()
      else this.#socket.end(answer)
      this.#socket.resume() // read and drop until the app closes
    }
    this.#lingerTimer = setTimeout(() => { this.#socket.destroy() }, this.#timings.lingerMs)
    this.#lingerTimer.unref()
  }

  #appGone (): boolean {
    return this.#state === DoorState.CLOSED || this.#socket.destroyed
  }

  #onSocketGone (err: Error | undefined): void {
    if (this.handshaking) this.#protocol.appLeftHandshake(err)
  }

  #onClose (): void {
    this.#onSocketGone(undefined)
    const handedOff = this.#state === DoorState.OPEN
    this.#state = DoorState.CLOSED
    this.#clearTimers()
    if (!handedOff) this.#events.released(this.#owner)
  }

  #clearTimers (): void {
    clearTimeout(this.#handshakeTimer)
    clearTimeout(this.#lingerTimer)
    this.#handshakeTimer = undefined
    this.#lingerTimer = undefined
  }
}

const DOOR_STATES: ReadonlySet<string> = new Set(Object.values(DoorState))

function isDoorState (state: string): state is DoorState {
  return DOOR_STATES.has(state)
}
