/**
 * Test helper: a Shaper (the shaped client's schedule) on a host with real circuit crypto,
 * whose clock and rounds the test drives by hand.
 */
import { ClientCircuit } from '../../src/client/client-circuit.js'
import type { SenderHost } from '../../src/client/circuit-sender.js'
import { ClientStats } from '../../src/client/client-stats.js'
import { Shaper } from '../../src/client/shaping/shaper.js'
import { CircuitStreams } from '../../src/endpoint/circuit-streams.js'
import type { WallTimers } from '../../src/clock/round-clock.js'
import type { ShapingParams } from '../../src/protocol/shaping.js'
import { buildCircuit } from './circuit.js'

export const SHAPER_ROUND_MS = 10

export interface ShaperAtOptions {
  /** When every circuit's epoch ends (Unix ms; default never). */
  readonly epochEndMs?: number
  /** Called with what the round clock arms (run it to fire the clock). */
  readonly onArm?: (fire: () => void) => void
}

/** A Shaper at `clock.ms` (move it, then call runTo or the armed callback). */
export function shaperAt (params: ShapingParams, clock: { ms: number }, options: ShaperAtOptions = {}): Shaper {
  let nextId = 1
  const timers: WallTimers = {
    now: () => clock.ms,
    setTimeout: (fire) => { options.onArm?.(fire); return 0 },
    clearTimeout: () => {},
  }
  const circuits = new Map<number, ClientCircuit>()
  const host: SenderHost = {
    geometry: buildCircuit(4, 1024).context.geometry,
    stats: new ClientStats(),
    circuits,
    entryUp: () => true,
    buildCircuit: (key) => {
      const built = buildCircuit(4, 1024)
      const circuit = new ClientCircuit(nextId++, key, built.forwardSealer, built.backwardOpener, clock.ms)
      circuit.streams = new CircuitStreams(built.context.geometry.forwardDataBytes, { send: () => {}, control: () => {} })
      circuits.set(circuit.id, circuit)
      return { circuit, create: new Uint8Array(1024), epochEndMs: options.epochEndMs ?? Infinity }
    },
    refreshKeys: () => {},
    write: () => {},
    failStreams: () => {},
    endCircuit: (circuit) => { circuit.ended = true; circuits.delete(circuit.id) },
    circuitsReady: () => {},
    loopAlarm: () => {},
    failClosed: () => {},
    recovered: () => {},
  }
  return new Shaper(host, { params, roundMs: SHAPER_ROUND_MS, hops: 4, alarmLimit: 3, timers })
}

/** Move the clock to `ms` and run the round that starts there. */
export function runTo (shaper: Shaper, clock: { ms: number }, ms: number): void {
  clock.ms = ms
  shaper.onRound(Math.floor(ms / SHAPER_ROUND_MS))
}

/**
 * A started Shaper whose round clock the test fires by hand: `advance(ms)` moves the clock
 * and fires it once (a jump of several rounds is a stall of this process). Stopped at teardown.
 */
export function drivenShaper (t: { teardown: (fn: () => void) => void }, params: ShapingParams): { shaper: Shaper, advance: (ms: number) => void } {
  const clock = { ms: 1_000_000 * params.slotMs }
  let armed: (() => void) | null = null
  const shaper = shaperAt(params, clock, { onArm: (fire) => { armed = fire } })
  t.teardown(() => shaper.stop())
  shaper.start()
  const advance = (ms: number): void => { clock.ms += ms; const fire = armed!; armed = null; fire() }
  return { shaper, advance }
}
