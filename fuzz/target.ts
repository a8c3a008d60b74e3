/**
 * What a fuzz target is: one decoder a peer can reach, its contract, and how to make inputs.
 *
 * A target is built from a seeded Prng (its keys and corpus come from it, so a saved input
 * replays against the same keys) and then run on one input at a time. Its contract: `run`
 * either returns (an outcome label such as 'ok', 'null', 'need-more') or throws one of
 * `errors` — our typed classes, each with a stable code. Anything else thrown is an escape.
 * A broken invariant (a result that contradicts the input) is thrown as `InvariantBroken`,
 * also an escape.
 */
import { MixgateError } from '../src/errors.js'
import type { Prng } from './prng.js'

export type Outcome = string

export interface FuzzTarget {
  readonly name: string
  /** The error classes this decoder may throw (with a stable `code`). */
  readonly errors: readonly (abstract new (...args: never[]) => MixgateError)[]
  /** One input, drawn from `rng` (mutated corpus or random). */
  generate (rng: Prng): Uint8Array
  /** Decode one input; returns an outcome label or throws. Async only for network targets. */
  run (input: Uint8Array): Outcome | Promise<Outcome>
  /** Release sockets and servers (network targets). */
  close?: () => Promise<void>
}

export interface TargetSpec {
  readonly name: string
  /** Default inputs per run when lower than the engine's (slow targets); the reason is printed. */
  readonly defaultInputs?: number
  readonly why?: string
  make (rng: Prng): FuzzTarget | Promise<FuzzTarget>
}

/** A contract the decoder broke without throwing: reported as an escape. */
export class InvariantBroken extends Error {
  override readonly name = 'InvariantBroken'
}

export function invariant (condition: boolean, message: string): void {
  if (!condition) throw new InvariantBroken(message)
}

/** The stable code of an error the target allows, or undefined if it is an escape. */
export function expectedCode (target: FuzzTarget, err: unknown): string | undefined {
  if (!(err instanceof MixgateError)) return undefined
  if (!target.errors.some((cls) => err instanceof cls)) return undefined
  return /^[A-Z][A-Z0-9_]+$/.test(err.code) ? err.code : undefined
}
