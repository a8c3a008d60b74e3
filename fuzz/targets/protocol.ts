/**
 * Targets in src/protocol: cells, relay payloads, BEGIN, RESOLVE/RESOLVED and DATAGRAM bodies, the CREATE onion, relay
 * layers both ways, LOOP probes and the shaping control byte. Keys come from the target's
 * Prng, so an input saved from a run replays against the same keys.
 */
import { x25519KeyPair } from '../../src/crypto/index.js'
import { decodeBegin, encodeBegin } from '../../src/protocol/begin.js'
import { CellCommand, decodeCell, encodeCell, encodeDestroy, encodePadding } from '../../src/protocol/cell.js'
import { ProtocolError } from '../../src/protocol/errors.js'
import { Geometry } from '../../src/protocol/geometry.js'
import { LoopProbeKey } from '../../src/protocol/loop-probe.js'
import { createOnion, openOnion, type OnionContext } from '../../src/protocol/onion.js'
import { BackwardOpener, BackwardSealer, ForwardPeeler, ForwardSealer } from '../../src/protocol/relay-layers.js'
import { decodeRelay, encodeRelay, RelayCommand } from '../../src/protocol/relay-payload.js'
import { decodeResolve, decodeResolved, encodeResolve, encodeResolved } from '../../src/protocol/resolve.js'
import { decodeDatagram, encodeDatagram } from '../../src/protocol/datagram.js'
import { decodeBackwardRung, decodeForwardRung, encodeRungRequest, rungRequestParity } from '../../src/protocol/shaping.js'
import type { Prng } from '../prng.js'
import { invariant, type TargetSpec } from '../target.js'
import { bytesTarget, withPrefix } from './bytes-target.js'

/** Small cells keep the AEAD cheap; every size rule is the same at 2048. */
export const FUZZ_GEOMETRY = new Geometry({ cellSize: 512, hops: 3 })

const geometry = FUZZ_GEOMETRY
const hops = geometry.hops

function hopKeysFrom (rng: Prng): { forward: Uint8Array, backward: Uint8Array }[] {
  return Array.from({ length: hops }, () => ({ forward: rng.bytes(32), backward: rng.bytes(32) }))
}

/** Every relay command, at its largest valid data, in a payload of `payloadBytes`. */
function relayCorpus (rng: Prng, payloadBytes: number): Uint8Array[] {
  const max = payloadBytes - 5
  const out: Uint8Array[] = []
  const begin = encodeBegin({ host: 'a'.repeat(255), port: 443 })
  out.push(encodeRelay(payloadBytes, 7, RelayCommand.BEGIN, begin))
  out.push(encodeRelay(payloadBytes, 7, RelayCommand.BEGIN, encodeBegin({ host: '2001:db8::1', port: 1 }, rng.bytes(max - 19))))
  out.push(encodeRelay(payloadBytes, 1, RelayCommand.CONNECTED))
  out.push(encodeRelay(payloadBytes, 0xffff, RelayCommand.DATA, rng.bytes(max)))
  out.push(encodeRelay(payloadBytes, 2, RelayCommand.DATA, rng.bytes(1)))
  out.push(encodeRelay(payloadBytes, 3, RelayCommand.END, Uint8Array.of(6)))
  out.push(encodeRelay(payloadBytes, 0, RelayCommand.SENDME))
  out.push(encodeRelay(payloadBytes, 9, RelayCommand.SENDME))
  out.push(encodeRelay(payloadBytes, 0, RelayCommand.DROP, rng.bytes(max)))
  out.push(encodeRelay(payloadBytes, 0, RelayCommand.LOOP, rng.bytes(56)))
  out.push(encodeRelay(payloadBytes, 0, RelayCommand.LOOP, rng.bytes(max)))
  out.push(encodeRelay(payloadBytes, 4, RelayCommand.FINISH))
  out.push(encodeRelay(payloadBytes, 5, RelayCommand.RESOLVE, encodeResolve('b'.repeat(255))))
  out.push(encodeRelay(payloadBytes, 5, RelayCommand.RESOLVED, encodeResolved(Array.from({ length: 40 }, (_, i) => `2001:db8::${i}`), max)))
  out.push(encodeRelay(payloadBytes, 6, RelayCommand.ASSOCIATE))
  out.push(encodeRelay(payloadBytes, 6, RelayCommand.DATAGRAM, encodeDatagram({ host: '2001:db8::53', port: 53 }, rng.bytes(max - 19))))
  // One byte over: the length field says max + 1 (data cannot fit).
  const over = encodeRelay(payloadBytes, 0xffff, RelayCommand.DATA, rng.bytes(max))
  over[3] = (max + 1) >>> 8; over[4] = (max + 1) & 0xff
  out.push(over)
  return out
}

const cell: TargetSpec = {
  name: 'cell',
  make (rng) {
    const g = new Geometry({ cellSize: 1024, hops: 2 })
    const corpus = [
      encodePadding(g),
      encodeCell(g, 0xffffffff, CellCommand.CREATE, rng.bytes(g.bodyBytes)),
      encodeCell(g, 1, CellCommand.RELAY, rng.bytes(g.bodyBytes)),
      encodeCell(g, 0x80000000, CellCommand.RELAY, rng.bytes(10)),
      encodeDestroy(g, 42, 4),
      encodeDestroy(g, 7, 0),
    ]
    return bytesTarget({
      name: 'cell',
      errors: [ProtocolError],
      corpus,
      hints: [{ offset: 0, width: 4 }, { offset: 4, width: 1, values: [0, 1, 2, 3, 4] }],
      run (input) {
        const c = decodeCell(g, input)
        invariant(c.body.length === g.bodyBytes, 'a decoded cell has a full body')
        invariant((c.command === CellCommand.PADDING) === (c.circuitId === 0), 'PADDING and only PADDING on circuit 0')
        return 'ok'
      },
    })
  },
}

const relayPayload: TargetSpec = {
  name: 'relay-payload',
  make (rng) {
    const corpus = [...relayCorpus(rng, geometry.forwardPayloadBytes), ...relayCorpus(rng, geometry.backwardPayloadBytes)]
    return bytesTarget({
      name: 'relay-payload',
      errors: [ProtocolError],
      corpus,
      hints: [{ offset: 3, width: 2, values: [geometry.forwardDataBytes, geometry.forwardDataBytes + 1, geometry.backwardDataBytes, geometry.backwardDataBytes + 1] }, { offset: 0, width: 2 }, { offset: 2, width: 1, values: [0, 1, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13] }],
      run (input) {
        const m = decodeRelay(input)
        // Round trip: what decodes must encode back to the very same payload.
        const again = encodeRelay(input.length, m.streamId, m.command, m.data)
        invariant(Buffer.compare(again, input) === 0, 'a decoded relay payload re-encodes to the same bytes')
        return `cmd${m.command}`
      },
    })
  },
}

const begin: TargetSpec = {
  name: 'begin',
  make (rng) {
    const corpus = [
      encodeBegin({ host: '192.0.2.1', port: 80 }),
      encodeBegin({ host: '2001:db8::ff', port: 65535 }, rng.bytes(40)),
      encodeBegin({ host: 'example.org', port: 443 }, rng.bytes(3)),
      encodeBegin({ host: 'x'.repeat(255), port: 1 }),
      encodeBegin({ host: 'a', port: 8080 }),
    ]
    return bytesTarget({
      name: 'begin',
      errors: [ProtocolError],
      corpus,
      hints: [{ offset: 0, width: 1, values: [1, 3, 4] }, { offset: 1, width: 1, values: [255, 0] }],
      run (input) {
        const b = decodeBegin(input)
        invariant(b.port >= 1 && b.port <= 65535, 'BEGIN port in 1..65535')
        if (b.addressType !== 3) {
          // An IP literal re-encodes to the same bytes (hostnames may be re-typed as IPs).
          const again = encodeBegin({ host: b.host, port: b.port }, b.earlyData)
          invariant(Buffer.compare(again, input) === 0, 'an IP BEGIN re-encodes to the same bytes')
        }
        return `atyp${b.addressType}`
      },
    })
  },
}

const resolveDatagram: TargetSpec = {
  name: 'resolve-datagram',
  make () {
    const corpus = [
      encodeResolve('example.org'),
      encodeResolve('192.0.2.1'),
      encodeResolve('2001:db8::ff'),
      encodeResolved(['192.0.2.1', '2001:db8::1', '198.51.100.7'], 200),
      encodeResolved(['host.example'], 200),
      encodeDatagram({ host: 'dns.example', port: 53 }, Uint8Array.of(1, 2, 3)),
      encodeDatagram({ host: '192.0.2.1', port: 53 }, new Uint8Array(0)),
    ]
    return bytesTarget({
      name: 'resolve-datagram',
      errors: [ProtocolError],
      corpus,
      hints: [{ offset: 0, width: 1, values: [1, 3, 4] }, { offset: 1, width: 1, values: [255, 0] }],
      run (input) {
        // One body, read as RESOLVE, DATAGRAM and RESOLVED: each returns a value or throws ProtocolError.
        let outcome = 'none'
        try {
          const q = decodeResolve(input)
          invariant(q.reverse || q.host.length > 0, 'a forward RESOLVE names something')
          outcome = q.reverse ? 'reverse' : 'forward'
        } catch (err) { if (!(err instanceof ProtocolError)) throw err }
        try {
          const d = decodeDatagram(input)
          invariant(d.port >= 1 && d.port <= 65535, 'a DATAGRAM port in 1..65535')
          outcome += '+datagram'
        } catch (err) { if (!(err instanceof ProtocolError)) throw err }
        const answers = decodeResolved(input)
        invariant(answers.length >= 1, 'a RESOLVED has an answer')
        return `${outcome}+answers`
      },
    })
  },
}

const onion: TargetSpec = {
  name: 'onion-open',
  defaultInputs: 200_000,
  why: 'one X25519 per input (≈ 120 µs in libsodium.js): 200k inputs ≈ 30 s',
  make (rng) {
    const context: OnionContext = { geometry, cascadeId: rng.bytes(32), epoch: 12345 }
    const hopPairs = Array.from({ length: hops }, () => x25519KeyPair(rng.bytes(32)))
    const corpus: Uint8Array[] = []
    for (let c = 0; c < 4; c++) {
      const created = createOnion(hopPairs.map((p) => p.publicKey), context, hopPairs.map(() => rng.bytes(32)))
      // The body each hop receives, with its position in front.
      let body: Uint8Array | null = created.header
      for (let position = 1; position <= hops && body !== null; position++) {
        corpus.push(withPrefix(position, body))
        body = openOnion(hopPairs[position - 1]!, position, body, context).next
      }
    }
    corpus.push(withPrefix(1, new Uint8Array(geometry.bodyBytes))) // an all-zero ephemeral: a bad point
    return bytesTarget({
      name: 'onion-open',
      errors: [ProtocolError],
      corpus,
      hints: [{ offset: 0, width: 1, values: [0, 1, 2, 3, 4] }],
      run (input) {
        const position = input.length === 0 ? 1 : input[0]!
        const pair = hopPairs[(position - 1 + hops) % hops] ?? hopPairs[0]!
        const opened = openOnion(pair, position, input.subarray(1), context)
        invariant(opened.replayTag.length === 16, 'a 16-byte replay tag')
        invariant(opened.next === null ? position === hops : opened.next.length === geometry.bodyBytes, 'the next body is a full body, except at the exit')
        return 'ok'
      },
    })
  },
}

const forwardPeel: TargetSpec = {
  name: 'relay-forward-peel',
  make (rng) {
    const keys = hopKeysFrom(rng)
    const corpus: Uint8Array[] = []
    for (const payload of relayCorpus(rng, geometry.forwardPayloadBytes)) {
      const sealer = new ForwardSealer(geometry, keys.map((k) => ({ forward: Uint8Array.from(k.forward), backward: Uint8Array.from(k.backward) })))
      let body: Uint8Array | null = sealer.seal(payload, 0x80 | 3)
      for (let position = 1; position <= hops && body !== null; position++) {
        corpus.push(withPrefix(position, body))
        body = position < hops ? new ForwardPeeler(geometry, position, keys[position - 1]!.forward).peel(body) : null
      }
    }
    return bytesTarget({
      name: 'relay-forward-peel',
      errors: [ProtocolError],
      corpus,
      run (input) {
        // The position is the hop's own, never the peer's: fold the selector into 1..hops.
        const position = 1 + ((input[0] ?? 0) % hops)
        const peeler = new ForwardPeeler(geometry, position, keys[position - 1]!.forward)
        const out = peeler.peel(input.subarray(1))
        if (out === null) {
          invariant(peeler.cellsPeeled === 0, 'a failed peel leaves the counter')
          return 'null'
        }
        invariant(out.length === (position === hops ? geometry.forwardPayloadBytes : geometry.bodyBytes), 'a peeled body has its size')
        return position === hops ? 'payload' : 'body'
      },
    })
  },
}

const backward: TargetSpec = {
  name: 'relay-backward',
  make (rng) {
    const keys = hopKeysFrom(rng)
    const copy = (): { forward: Uint8Array, backward: Uint8Array }[] => keys.map((k) => ({ forward: Uint8Array.from(k.forward), backward: Uint8Array.from(k.backward) }))
    const corpus: Uint8Array[] = []
    // Bodies as the client receives them: sealed by the exit, then by every mix (or a PAD from one).
    for (const payload of relayCorpus(rng, geometry.backwardPayloadBytes)) {
      let body: Uint8Array | null = payload
      for (let position = hops; position >= 1; position--) {
        const sealer = new BackwardSealer(geometry, position, keys[position - 1]!.backward)
        body = sealer.seal(rng.chance(0.1) ? null : body, undefined, rng.bytes(24))
      }
      corpus.push(withPrefix(0, body!))
    }
    // And what a mix seals: any body its successor sent (selector 1: seal at hop 2).
    corpus.push(withPrefix(1, rng.bytes(geometry.bodyBytes)))
    return bytesTarget({
      name: 'relay-backward',
      errors: [ProtocolError],
      corpus,
      run (input) {
        const body = input.subarray(1)
        if ((input[0] ?? 0) % 2 === 1) {
          // A mix seals the first backwardInnerBytes of what its successor sent, whatever it is.
          const sealed = new BackwardSealer(geometry, 2, keys[1]!.backward).seal(body, undefined, new Uint8Array(24))
          invariant(sealed.length === geometry.bodyBytes, 'a sealed backward body is a full body')
          return 'sealed'
        }
        const result = new BackwardOpener(geometry, copy()).open(body)
        if (result === null) return 'null'
        if (result.kind === 'data') invariant(result.payload.length === geometry.backwardPayloadBytes, 'an opened payload has Pb bytes')
        return result.kind
      },
    })
  },
}

const loopProbe: TargetSpec = {
  name: 'loop-probe',
  make (rng) {
    const keyBytes = rng.bytes(32)
    const key = new LoopProbeKey(keyBytes)
    const corpus = [0, 1, 2 ** 40, Number.MAX_SAFE_INTEGER].map((seq) => {
      const probe = key.seal({ seq, sentMs: seq === 0 ? 0 : 1_700_000_000_000 }, rng.bytes(24))
      const padded = new Uint8Array(probe.length + 16)
      padded.set(probe)
      return rng.chance(0.5) ? probe : padded
    })
    return bytesTarget({
      name: 'loop-probe',
      errors: [],
      corpus,
      run (input) {
        const probe = key.open(input)
        if (probe === null) return 'null'
        invariant(Number.isSafeInteger(probe.seq) && Number.isSafeInteger(probe.sentMs), 'probe fields are safe integers')
        return 'probe'
      },
    })
  },
}

const controlByte: TargetSpec = {
  name: 'shaping-control',
  make () {
    return bytesTarget({
      name: 'shaping-control',
      errors: [],
      corpus: [Uint8Array.of(0), Uint8Array.of(encodeRungRequest(3, 1, 1)), Uint8Array.of(encodeRungRequest(7, 7, 0)), Uint8Array.of(0xff)],
      maxRandomLength: 1,
      run (input) {
        const control = input[0] ?? 0
        const forward = decodeForwardRung(control)
        const backward = decodeBackwardRung(control)
        invariant((forward === -1) === (backward === -1), 'a control byte asks for both rungs or for none')
        if (forward === -1) return 'none'
        invariant(forward >= 0 && forward < 8 && backward >= 0 && backward < 8, 'a rung is 0..7')
        invariant(encodeRungRequest(forward, backward, rungRequestParity(control)) === control, 'a rung request re-encodes to its control byte')
        return 'rung'
      },
    })
  },
}

export const protocolTargets: readonly TargetSpec[] = [cell, relayPayload, begin, resolveDatagram, onion, forwardPeel, backward, loopProbe, controlByte]
