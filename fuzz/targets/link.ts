/**
 * Targets in src/link: the batch reader with the transport cipher behind it (as a Link runs
 * them), and Noise handshake messages read by responders and initiators of both patterns.
 */
import { x25519KeyPair, type KeyPair } from '../../src/crypto/index.js'
import { BatchReader } from '../../src/link/batch-reader.js'
import { BatchSealer } from '../../src/link/batch-sealer.js'
import type { LinkError } from '../../src/link/errors.js'
import { REKEY_AFTER_MESSAGES } from '../../src/link/link-control.js'
import { NoiseError } from '../../src/link/noise/errors.js'
import { HandshakeState, type HandshakePattern } from '../../src/link/noise/handshake.js'
import type { Prng } from '../prng.js'
import { invariant, type TargetSpec } from '../target.js'
import { bytesTarget } from './bytes-target.js'
import { keyed } from '../../test/helpers/keyed-cipher.js'
import { concat } from '../../test/helpers/bytes.js'

const CELL = 256
/** A one-cell batch: header and body. */
const BATCH = 18 + CELL + 16
const EMPTY = new Uint8Array(0)

/**
 * Input: chunking(1) ‖ the bytes the peer sent. The low bits of the first byte choose how the
 * stream is cut into chunks (as TCP may cut it), so an input replays with its own cuts.
 */
const frames: TargetSpec = {
  name: 'link-frames',
  make (rng) {
    const key = rng.bytes(32)
    const stream = (counts: readonly number[], extra: Uint8Array): Uint8Array => {
      const sealer = new BatchSealer(CELL, keyed(key), REKEY_AFTER_MESSAGES)
      const parts = counts.map((count) => sealer.seal(Array.from({ length: count }, () => rng.bytes(CELL))) as Uint8Array)
      return concat([Uint8Array.of(rng.u32() & 0xff), ...parts, extra])
    }
    const corpus = [stream([1], EMPTY), stream([3], EMPTY), stream([1, 2], rng.bytes(100)), stream([300], rng.bytes(BATCH - 1))]
    return bytesTarget({
      name: 'link-frames',
      errors: [NoiseError],
      corpus,
      maxRandomLength: 4 * BATCH,
      run (input) {
        let opened = 0
        let failure: LinkError | null = null
        const reader = new BatchReader(CELL, keyed(key), {
          onBatch (cells, count) {
            invariant(count >= 1 && count <= reader.maxCellsPerBatch, 'a batch holds 1..max cells')
            invariant(cells.length === count * CELL, 'an opened batch is count cells')
            opened += count
            return true
          },
          onError (error) { failure = error },
        })
        const bytes = input.subarray(1)
        const cut = [0, 1, 7, 18, BATCH - 1, BATCH, BATCH + 1, 1000][(input[0] ?? 0) & 7]!
        let consumed = 0
        for (let at = 0; at < bytes.length && failure === null;) {
          const chunk = bytes.subarray(at, cut === 0 ? bytes.length : at + cut)
          const used = reader.push(chunk)
          invariant(used <= chunk.length, 'push consumes at most its chunk')
          invariant(reader.pendingBytes <= 65535 + 18, 'at most one batch is held')
          consumed += used
          at += chunk.length
        }
        if (failure === null) invariant(consumed === bytes.length, 'every byte consumed')
        if (failure !== null) return `${opened > 0 ? 'cells-then-' : ''}${(failure as LinkError).code}`
        return `cells${Math.min(opened, 4)}`
      },
    })
  },
}

interface Parties {
  readonly initiatorStatic: KeyPair
  readonly responderStatic: KeyPair
  readonly prologue: Uint8Array
  readonly initiatorE: KeyPair
  readonly responderE: KeyPair
}

function parties (rng: Prng): Parties {
  return {
    initiatorStatic: x25519KeyPair(rng.bytes(32)),
    responderStatic: x25519KeyPair(rng.bytes(32)),
    prologue: rng.bytes(43),
    initiatorE: x25519KeyPair(rng.bytes(32)),
    responderE: x25519KeyPair(rng.bytes(32)),
  }
}

/** A fresh copy: the handshake wipes the ephemeral secret it is given. */
function copyPair (pair: KeyPair): KeyPair {
  return { publicKey: Uint8Array.from(pair.publicKey), secretKey: Uint8Array.from(pair.secretKey) }
}

function initiator (pattern: HandshakePattern, p: Parties, e = p.initiatorE): HandshakeState {
  return new HandshakeState({
    pattern,
    initiator: true,
    prologue: p.prologue,
    rs: p.responderStatic.publicKey,
    e: copyPair(e),
    ...(pattern === 'KK' ? { s: p.initiatorStatic } : {}),
  })
}

function responder (pattern: HandshakePattern, p: Parties, e = p.responderE): HandshakeState {
  return new HandshakeState({
    pattern,
    initiator: false,
    prologue: p.prologue,
    s: p.responderStatic,
    e: copyPair(e),
    ...(pattern === 'KK' ? { rs: p.initiatorStatic.publicKey } : {}),
  })
}

function responderReads (pattern: HandshakePattern): TargetSpec {
  const name = `noise-${pattern.toLowerCase()}-responder`
  return {
    name,
    defaultInputs: pattern === 'NK' ? 300_000 : 200_000,
    why: `${pattern === 'NK' ? 'one X25519' : 'two X25519'} per message read (≈ 120 µs each in libsodium.js)`,
    make (rng) {
      const p = parties(rng)
      // Message 1 from initiators with several ephemerals, plus ones with payloads (refused).
      const corpus = Array.from({ length: 4 }, () => initiator(pattern, p, x25519KeyPair(rng.bytes(32))).writeMessage(EMPTY))
      const withPayload = new HandshakeState({ pattern, initiator: true, prologue: p.prologue, rs: p.responderStatic.publicKey, allowPayloads: true, ...(pattern === 'KK' ? { s: p.initiatorStatic } : {}) })
      corpus.push(withPayload.writeMessage(rng.bytes(5)))
      return bytesTarget({
        name,
        errors: [NoiseError],
        corpus,
        hints: [{ offset: 31, width: 1, values: [0x80, 0x7f] }],
        run (input) {
          const state = responder(pattern, p)
          state.readMessage(input)
          invariant(!state.complete && state.isMyTurn, 'after message 1 the responder writes')
          return 'ok'
        },
      })
    },
  }
}

function initiatorReads (pattern: HandshakePattern): TargetSpec {
  const name = `noise-${pattern.toLowerCase()}-initiator`
  return {
    name,
    defaultInputs: pattern === 'NK' ? 200_000 : 100_000,
    why: `${pattern === 'NK' ? 'two X25519' : 'four X25519'} per input: the initiator writes message 1, then reads the fuzzed message 2`,
    make (rng) {
      const p = parties(rng)
      const corpus: Uint8Array[] = []
      for (let i = 0; i < 3; i++) {
        const r = responder(pattern, p, i === 0 ? p.responderE : x25519KeyPair(rng.bytes(32)))
        r.readMessage(initiator(pattern, p).writeMessage(EMPTY))
        corpus.push(r.writeMessage(EMPTY))
      }
      return bytesTarget({
        name,
        errors: [NoiseError],
        corpus,
        run (input) {
          const state = initiator(pattern, p)
          state.writeMessage(EMPTY)
          state.readMessage(input)
          invariant(state.complete && state.transport().handshakeHash.length === 64, 'a read message 2 completes the handshake')
          return 'complete'
        },
      })
    },
  }
}

export const linkTargets: readonly TargetSpec[] = [frames, responderReads('NK'), responderReads('KK'), initiatorReads('NK'), initiatorReads('KK')]
