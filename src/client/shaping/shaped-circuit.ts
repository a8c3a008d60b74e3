/**
 * A circuit's place in the shaped schedule: its lane and life (circuit-lanes.ts), its rung
 * (elastic, circuit-rungs.ts), the real cells waiting for its slots (send-queue.ts), the LOOPs
 * due on it, and the isolation key its streams are bound to. The Shaper keeps one per live
 * circuit; the ClientCircuit itself knows nothing of the schedule.
 */
import type { ClientCircuit } from '../client-circuit.js'
import { CircuitRungs } from './circuit-rungs.js'
import { SendQueue } from './send-queue.js'

export class ShapedCircuit {
  readonly circuit: ClientCircuit
  readonly lane: number
  readonly builtSlot: number
  /** The slot at whose start it ends. */
  readonly endSlot: number
  /** It takes new streams while the slot is below this. */
  readonly acceptUntil: number
  /** Elastic: its rungs each way, and what it asks for the next slot (circuit-rungs.ts). */
  readonly rungs: CircuitRungs
  readonly queue = new SendQueue()
  /** LOOPs waiting for a scheduled cell of this circuit. */
  loopsDue = 0
  /** The isolation key of its streams (null: none yet). */
  boundKey: string | null = null

  constructor (circuit: ClientCircuit, lane: number, builtSlot: number, endSlot: number, acceptUntil: number, rungs: CircuitRungs) {
    this.rungs = rungs
    this.circuit = circuit
    this.lane = lane
    this.builtSlot = builtSlot
    this.endSlot = endSlot
    this.acceptUntil = acceptUntil
  }

  get id (): number { return this.circuit.id }
}
