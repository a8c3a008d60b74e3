/**
 * The Noise handshake against the published cacophony vectors (byte for byte: both handshake
 * messages, the handshake hash, and four transport messages each way), then mixgate's own use
 * of it: empty payloads, 48-byte messages, equal hashes, and refusal of anything tampered.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { cryptoReady, x25519KeyPair, type KeyPair } from '../../../src/crypto/index.js'
import { HandshakeState, HANDSHAKE_MESSAGE_BYTES, protocolName, type HandshakePattern } from '../../../src/link/noise/handshake.js'
import { NoiseError } from '../../../src/link/noise/errors.js'

await cryptoReady()

interface Vector {
  protocol_name: string
  init_prologue: string
  init_static?: string
  init_ephemeral: string
  init_remote_static?: string
  resp_prologue: string
  resp_static?: string
  resp_ephemeral: string
  resp_remote_static?: string
  handshake_hash: string
  messages: { payload: string, ciphertext: string }[]
}

const fixture = JSON.parse(readFileSync(fileURLToPath(new URL('../../../../test/fixtures/vectors/noise.json', import.meta.url)), 'utf8')) as { source: string, vectors: Vector[] }
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'))
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const EMPTY = new Uint8Array(0)

function patternOf (name: string): HandshakePattern {
  const pattern = name.split('_')[1]
  if (pattern !== 'NK' && pattern !== 'KK') throw new Error('unexpected vector ' + name)
  return pattern
}

t.test('the fixture names its source and holds NK and KK', async (t) => {
  t.match(fixture.source, /cacophony/)
  t.same(fixture.vectors.map(v => v.protocol_name), ['Noise_NK_25519_ChaChaPoly_BLAKE2b', 'Noise_KK_25519_ChaChaPoly_BLAKE2b'])
})

for (const v of fixture.vectors) {
  t.test(`${v.protocol_name}: cacophony vector reproduced byte for byte`, async (t) => {
    const pattern = patternOf(v.protocol_name)
    t.equal(protocolName(pattern), v.protocol_name)
    const initStatic = v.init_static === undefined ? undefined : x25519KeyPair(hex(v.init_static))
    const respStatic = x25519KeyPair(hex(v.resp_static!))
    t.equal(toHex(respStatic.publicKey), v.init_remote_static, 'init_remote_static is the responder static public key')
    if (initStatic !== undefined) t.equal(toHex(initStatic.publicKey), v.resp_remote_static, 'resp_remote_static is the initiator static public key')

    const initiator = new HandshakeState({
      pattern, initiator: true, prologue: hex(v.init_prologue), allowPayloads: true,
      e: x25519KeyPair(hex(v.init_ephemeral)), rs: hex(v.init_remote_static!),
      ...(initStatic === undefined ? {} : { s: initStatic }),
    })
    const responder = new HandshakeState({
      pattern, initiator: false, prologue: hex(v.resp_prologue), allowPayloads: true,
      e: x25519KeyPair(hex(v.resp_ephemeral)), s: respStatic,
      ...(v.resp_remote_static === undefined ? {} : { rs: hex(v.resp_remote_static) }),
    })

    const [m1, m2, ...transport] = v.messages
    const msg1 = initiator.writeMessage(hex(m1!.payload))
    t.equal(toHex(msg1), m1!.ciphertext, 'message 1')
    t.equal(toHex(responder.readMessage(msg1)), m1!.payload, 'message 1 payload')
    const msg2 = responder.writeMessage(hex(m2!.payload))
    t.equal(toHex(msg2), m2!.ciphertext, 'message 2')
    t.equal(toHex(initiator.readMessage(msg2)), m2!.payload, 'message 2 payload')
    t.ok(initiator.complete && responder.complete)

    const i = initiator.transport()
    const r = responder.transport()
    t.equal(toHex(i.handshakeHash), v.handshake_hash, 'initiator handshake hash')
    t.equal(toHex(r.handshakeHash), v.handshake_hash, 'responder handshake hash')

    transport.forEach((m, index) => {
      const [sender, receiver] = index % 2 === 0 ? [i, r] : [r, i]
      const sealed = sender.send.encryptWithAd(EMPTY, hex(m.payload))
      t.equal(toHex(sealed), m.ciphertext, `transport message ${index + 3}`)
      t.equal(toHex(receiver.receive.decryptWithAd(EMPTY, sealed)!), m.payload, `transport message ${index + 3} opens`)
    })
  })
}

interface Pair { initiator: HandshakeState, responder: HandshakeState }
interface Keys { respStatic: KeyPair, initStatic: KeyPair }

const newKeys = (): Keys => ({ respStatic: x25519KeyPair(), initStatic: x25519KeyPair() })

function pair (pattern: HandshakePattern, overrides: { initPrologue?: Uint8Array, initStatic?: KeyPair, respPinned?: Uint8Array } = {}, keys: Keys = newKeys()): Pair {
  const prologue = new TextEncoder().encode('mixgate/v1 test')
  return {
    initiator: new HandshakeState({
      pattern, initiator: true, prologue: overrides.initPrologue ?? prologue, rs: keys.respStatic.publicKey,
      ...(pattern === 'KK' ? { s: overrides.initStatic ?? keys.initStatic } : {}),
    }),
    responder: new HandshakeState({
      pattern, initiator: false, prologue, s: keys.respStatic,
      ...(pattern === 'KK' ? { rs: overrides.respPinned ?? keys.initStatic.publicKey } : {}),
    }),
  }
}

function noiseCode (fn: () => unknown): string | undefined {
  try { fn(); return undefined } catch (err) { return err instanceof NoiseError ? err.code : 'OTHER' }
}

for (const pattern of ['NK', 'KK'] as const) {
  t.test(`${pattern}: both sides agree, messages are 48 bytes, transport works both ways`, async (t) => {
    const { initiator, responder } = pair(pattern)
    const msg1 = initiator.writeMessage(EMPTY)
    t.equal(msg1.length, HANDSHAKE_MESSAGE_BYTES)
    t.equal(responder.readMessage(msg1).length, 0)
    const msg2 = responder.writeMessage(EMPTY)
    t.equal(msg2.length, HANDSHAKE_MESSAGE_BYTES)
    t.equal(initiator.readMessage(msg2).length, 0)
    const i = initiator.transport()
    const r = responder.transport()
    t.same(i.handshakeHash, r.handshakeHash)
    const cell = Uint8Array.from({ length: 64 }, (_, k) => k)
    t.same(r.receive.decryptWithAd(EMPTY, i.send.encryptWithAd(EMPTY, cell)), cell)
    t.same(i.receive.decryptWithAd(EMPTY, r.send.encryptWithAd(EMPTY, cell)), cell)
  })

  t.test(`${pattern}: a flipped bit in any byte of message 1 or 2 is refused`, async (t) => {
    // Same keys throughout, so that only the flipped bit differs from an accepted message.
    const keys = newKeys()
    const msg1 = pair(pattern, {}, keys).initiator.writeMessage(EMPTY)
    t.equal(noiseCode(() => pair(pattern, {}, keys).responder.readMessage(msg1)), undefined, 'control: message 1 as sent is accepted')
    let refused1 = 0
    for (let i = 0; i < msg1.length; i++) {
      const bad = Uint8Array.from(msg1)
      bad[i]! ^= 1 << (i % 7)
      if (noiseCode(() => pair(pattern, {}, keys).responder.readMessage(bad)) !== undefined) refused1++
    }
    t.equal(refused1, msg1.length, 'message 1')

    let refused2 = 0
    for (let i = -1; i < HANDSHAKE_MESSAGE_BYTES; i++) {
      const { initiator, responder } = pair(pattern, {}, keys)
      responder.readMessage(initiator.writeMessage(EMPTY))
      const bad = Uint8Array.from(responder.writeMessage(EMPTY))
      if (i < 0) {
        t.equal(noiseCode(() => initiator.readMessage(bad)), undefined, 'control: message 2 as sent is accepted')
        continue
      }
      bad[i]! ^= 1 << (i % 7)
      if (noiseCode(() => initiator.readMessage(bad)) !== undefined) refused2++
    }
    t.equal(refused2, HANDSHAKE_MESSAGE_BYTES, 'message 2')
  })

  t.test(`${pattern}: a different prologue fails the handshake`, async (t) => {
    const { initiator, responder } = pair(pattern, { initPrologue: new TextEncoder().encode('mixgate/v1 other') })
    t.equal(noiseCode(() => responder.readMessage(initiator.writeMessage(EMPTY))), 'NOISE_DECRYPT_FAILED')
  })

  t.test(`${pattern}: non-empty payloads are refused on write and on read`, async (t) => {
    const { initiator, responder } = pair(pattern)
    t.equal(noiseCode(() => initiator.writeMessage(Uint8Array.of(1))), 'NOISE_PAYLOAD_NOT_EMPTY')
    // A peer that does put a payload in message 1: authentic, but still refused.
    const respStatic = x25519KeyPair()
    const initStatic = x25519KeyPair()
    const prologue = EMPTY
    const eager = new HandshakeState({ pattern, initiator: true, prologue, rs: respStatic.publicKey, allowPayloads: true, ...(pattern === 'KK' ? { s: initStatic } : {}) })
    const strict = new HandshakeState({ pattern, initiator: false, prologue, s: respStatic, ...(pattern === 'KK' ? { rs: initStatic.publicKey } : {}) })
    t.equal(noiseCode(() => strict.readMessage(eager.writeMessage(Uint8Array.of(1, 2, 3)))), 'NOISE_PAYLOAD_NOT_EMPTY')
    t.equal(noiseCode(() => strict.writeMessage(EMPTY)), 'NOISE_STATE', 'a refused handshake cannot continue')
    t.equal(noiseCode(() => responder.writeMessage(EMPTY)), 'NOISE_STATE', 'responder cannot write first')
  })

  t.test(`${pattern}: short messages and small-order ephemerals are refused`, async (t) => {
    t.equal(noiseCode(() => pair(pattern).responder.readMessage(new Uint8Array(20))), 'NOISE_BAD_MESSAGE')
    const e = x25519KeyPair().publicKey
    t.equal(noiseCode(() => pair(pattern).responder.readMessage(Uint8Array.from([...e, 1, 2, 3, 4, 5, 6, 7, 8]))), 'NOISE_BAD_MESSAGE')
    t.equal(noiseCode(() => pair(pattern).responder.readMessage(new Uint8Array(48))), 'NOISE_BAD_KEY', 'all-zero e')
  })
}

t.test('KK: an initiator without the pinned static key is refused at message 1', async (t) => {
  const { initiator, responder } = pair('KK', { initStatic: x25519KeyPair() })
  t.equal(noiseCode(() => responder.readMessage(initiator.writeMessage(EMPTY))), 'NOISE_DECRYPT_FAILED')
})

t.test('missing keys are refused at construction', async (t) => {
  const kp = x25519KeyPair()
  t.equal(noiseCode(() => new HandshakeState({ pattern: 'NK', initiator: true, prologue: EMPTY })), 'NOISE_MISSING_KEY')
  t.equal(noiseCode(() => new HandshakeState({ pattern: 'NK', initiator: false, prologue: EMPTY })), 'NOISE_MISSING_KEY')
  t.equal(noiseCode(() => new HandshakeState({ pattern: 'KK', initiator: true, prologue: EMPTY, s: kp })), 'NOISE_MISSING_KEY')
  t.equal(noiseCode(() => new HandshakeState({ pattern: 'KK', initiator: false, prologue: EMPTY, rs: kp.publicKey })), 'NOISE_MISSING_KEY')
  t.equal(noiseCode(() => new HandshakeState({ pattern: 'NK', initiator: true, prologue: EMPTY, rs: new Uint8Array(31) })), 'NOISE_BAD_KEY')
})

t.test('the ephemeral secret is wiped after Split', async (t) => {
  const respStatic = x25519KeyPair()
  const e = x25519KeyPair()
  const initiator = new HandshakeState({ pattern: 'NK', initiator: true, prologue: EMPTY, rs: respStatic.publicKey, e })
  const responder = new HandshakeState({ pattern: 'NK', initiator: false, prologue: EMPTY, s: respStatic })
  responder.readMessage(initiator.writeMessage(EMPTY))
  t.notOk(e.secretKey.every(b => b === 0), 'still in use mid-handshake')
  initiator.readMessage(responder.writeMessage(EMPTY))
  t.ok(e.secretKey.every(b => b === 0), 'zero after the last message')
  t.notOk(respStatic.secretKey.every(b => b === 0), 'the static key is the caller\'s and is kept')
  t.equal(noiseCode(() => initiator.writeMessage(EMPTY)), 'NOISE_STATE', 'a complete handshake takes no more messages')
})
