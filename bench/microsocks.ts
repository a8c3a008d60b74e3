/**
 * microsocks (Debian's `microsocks` package) as a second baseline: a small real SOCKS5 server
 * in C, one thread per connection. Optional: when /usr/bin/microsocks is absent the bench
 * says so and leaves the column out. It prints nothing when ready, so the port is polled.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { connect } from 'node:net'
import { freePorts } from '../src/node/start/free-ports.js'

export const MICROSOCKS = '/usr/bin/microsocks'

export interface Microsocks {
  readonly pid: number
  readonly port: number
  stop (): Promise<void>
}

const READY_TIMEOUT_MS = 5_000

function accepts (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => { socket.destroy(); resolve(false) })
  })
}

/** Start microsocks on a free loopback port, or return undefined if it is not installed. */
export async function startMicrosocks (): Promise<Microsocks | undefined> {
  if (!existsSync(MICROSOCKS)) return undefined
  const port = (await freePorts('127.0.0.1', 1))[0]!
  const child = spawn(MICROSOCKS, ['-i', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' })
  const kill = (): void => { child.kill('SIGKILL') }
  process.on('exit', kill)
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()))
  const stop = async (): Promise<void> => {
    process.off('exit', kill)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await exited
  }
  const deadline = Date.now() + READY_TIMEOUT_MS
  while (!(await accepts(port))) {
    if (Date.now() > deadline || child.exitCode !== null) {
      await stop()
      throw new Error(`${MICROSOCKS} did not listen on 127.0.0.1:${port} within ${READY_TIMEOUT_MS} ms`)
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return { pid: child.pid!, port, stop }
}
