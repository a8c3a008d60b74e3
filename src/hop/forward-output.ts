/**
 * What differs between a mix and the exit, as the hop core sees it: where a circuit's forward
 * cells go. A mix's output is its successor link (src/mix/successor-output.ts), the exit's is
 * its TCP streams (src/exit/exit-output.ts). The core (hop-core.ts) owns everything else:
 * predecessor links, CREATEs, replay, circuits, rounds and the backward direction.
 */
import type { HopCircuit } from './hop-circuit.js'

export interface ForwardOutput {
  /**
   * Forward items leave as they arrive (the exit: TCP), not in rounds: a new circuit's forward
   * items then wait in `circuit.held` while its tag is not durable or its CREATE is held, even
   * when shaped (a shaped mix's rounds skip such a circuit instead).
   */
  readonly leavesAtOnce: boolean
  /**
   * A CREATE was accepted: set the circuit up here. `next` is the CREATE header for the
   * successor (null at the exit). False refuses the circuit (counted as a limit refusal).
   */
  created (circuit: HopCircuit, next: Uint8Array | null): boolean
  /**
   * Peel one forward layer of `body`, the body of the received `cell`: a mix writes the result
   * into its outgoing cell (shaped: into `cell` itself), the exit returns the relay payload.
   * Null: the layer did not authenticate.
   */
  peel (circuit: HopCircuit, body: Uint8Array, cell: Uint8Array): Uint8Array | null
  /** A peeled forward item that may go on now (nothing holds its circuit). */
  forward (circuit: HopCircuit, peeled: Uint8Array): void
  /** The circuit ended here: release what the output holds for it. */
  ended (circuit: HopCircuit): void
  /** The circuit was silenced (shaped, ended early): drop what it holds for real traffic. */
  silenced (circuit: HopCircuit): void
  /**
   * An unshaped round: send what was forwarded since the last one (and report it). `quiet`:
   * a deadline after a release on arrival (unshaped-rounds.ts), which reports no empty round.
   */
  sendRound (quiet?: boolean): void
  /** A shaped round: write the forward schedule of rounds `from` to `round` (and report it). */
  sendShapedRound (from: number, round: number): void
  /**
   * The next backward item of a shaped circuit for one of its slots in `round`: a queued cell
   * or payload, or undefined for a PAD. The exit puts due LOOP echoes first.
   */
  nextBackward (circuit: HopCircuit, round: number): Uint8Array | undefined
  /**
   * Unshaped: these backward cells left in a round's write (the link copied them) and were
   * made by this output, which may reuse them. Only an output whose every backward cell is
   * its own has it (the exit); a mix's are views of its successor link's reads.
   */
  readonly recycleBackward?: (cells: readonly Uint8Array[]) => void
}

/** A cell waiting for an unshaped round, with the circuit it belongs to. */
export interface QueuedCell {
  readonly cell: Uint8Array
  readonly circuit: HopCircuit
}
