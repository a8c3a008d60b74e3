/**
 * Differential tests: sodium-native and libsodium.js, called through the backend interface
 * side by side, give the same bytes for every primitive on random inputs, and refuse the
 * same bad inputs (tampered ciphertexts, small-order points, invalid signatures).
 */
import t from 'tap'
import fc from 'fast-check'
import { createRequire } from 'node:module'
import type { CryptoBackend } from '../../src/crypto/backend.js'
import { createNativeBackend, type SodiumNative } from '../../src/crypto/native-backend.js'
import { wasmBackend as wasm } from '../../src/crypto/wasm-backend.js'
import { nativeAvailable } from './backends.js'

const RUNS = { numRuns: 200 }
const hex = (b: Uint8Array | null): string | null => b === null ? null : Buffer.from(b).toString('hex')
const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n })
const message = fc.uint8Array({ maxLength: 2100 })
const ad = fc.option(fc.uint8Array({ maxLength: 64 }), { nil: null })

if (!nativeAvailable()) {
  t.test('native backend', { skip: 'sodium-native is not installed' }, async () => {})
} else {
  const native: CryptoBackend = createNativeBackend(createRequire(import.meta.url)('sodium-native') as SodiumNative)

  t.test('AEADs: same ciphertexts; each opens the other\'s; both refuse a flipped bit', async (t) => {
    const check = (nonceBytes: number, seal: 'aeadEncrypt' | 'xaeadEncrypt', open: 'aeadDecrypt' | 'xaeadDecrypt') => {
      fc.assert(fc.property(bytes(32), bytes(nonceBytes), ad, message, fc.nat(), (key, nonce, a, m, flip) => {
        const n = native[seal](key, nonce, a, m)
        const w = wasm[seal](key, nonce, a, m)
        if (hex(n) !== hex(w)) return false
        if (hex(native[open](key, nonce, a, w)) !== hex(m) || hex(wasm[open](key, nonce, a, n)) !== hex(m)) return false
        const bad = Uint8Array.from(n)
        bad[flip % bad.length]! ^= 1 << (flip % 8)
        return native[open](key, nonce, a, bad) === null && wasm[open](key, nonce, a, bad) === null
      }), RUNS)
    }
    check(12, 'aeadEncrypt', 'aeadDecrypt')
    check(24, 'xaeadEncrypt', 'xaeadDecrypt')
    t.pass('ChaCha20-Poly1305-IETF and XChaCha20-Poly1305-IETF agree')
  })

  t.test('into-buffer AEADs: in place and apart, the same bytes as the allocating calls on both backends', async (t) => {
    type Kind = 'aead' | 'xaead'
    const check = (kind: Kind, nonceBytes: number) => {
      const seal = kind === 'aead' ? 'aeadEncrypt' : 'xaeadEncrypt'
      const open = kind === 'aead' ? 'aeadDecrypt' : 'xaeadDecrypt'
      fc.assert(fc.property(bytes(32), bytes(nonceBytes), ad, message, fc.nat(), fc.nat({ max: 40 }), (key, nonce, a, m, flip, lead) => {
        const expected = hex(wasm[seal](key, nonce, a, m))
        for (const be of [native, wasm]) {
          // Apart: into a view of a larger buffer.
          const apart = new Uint8Array(lead + m.length + 16).subarray(lead)
          be[`${kind}EncryptInto`](apart, key, nonce, a, m)
          if (hex(apart) !== expected) return false
          // In place: the plaintext sits at the start of the output.
          const inPlace = new Uint8Array(lead + m.length + 16).subarray(lead)
          inPlace.set(m)
          be[`${kind}EncryptInto`](inPlace, key, nonce, a, inPlace.subarray(0, m.length))
          if (hex(inPlace) !== expected) return false
          const opened = new Uint8Array(m.length)
          if (!be[`${kind}DecryptInto`](opened, key, nonce, a, apart) || hex(opened) !== hex(m)) return false
          if (!be[`${kind}DecryptInto`](inPlace.subarray(0, m.length), key, nonce, a, inPlace) || hex(inPlace.subarray(0, m.length)) !== hex(m)) return false
          const bad = Uint8Array.from(apart)
          bad[flip % bad.length]! ^= 1 << (flip % 8)
          if (be[`${kind}DecryptInto`](opened, key, nonce, a, bad)) return false
          if (hex(be[open](key, nonce, a, apart)) !== hex(m)) return false
        }
        return true
      }), RUNS)
    }
    check('aead', 12)
    check('xaead', 24)
    t.pass('into-buffer AEADs agree with the allocating ones')
  })

  t.test('ChaCha20 keystream, BLAKE2b and the KDF agree', async (t) => {
    fc.assert(fc.property(bytes(32), bytes(12), message, fc.integer({ min: 0, max: 0x7fffffff }), (key, nonce, m, counter) =>
      hex(native.chacha20Xor(key, nonce, m, counter)) === hex(wasm.chacha20Xor(key, nonce, m, counter))), RUNS)
    const key = fc.option(fc.uint8Array({ minLength: 16, maxLength: 64 }), { nil: null })
    fc.assert(fc.property(fc.integer({ min: 16, max: 64 }), message, key, (outLen, m, k) =>
      hex(native.generichash(outLen, m, k)) === hex(wasm.generichash(outLen, m, k))), RUNS)
    const context = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 8, maxLength: 8 })
    fc.assert(fc.property(fc.integer({ min: 16, max: 64 }), fc.integer({ min: 0, max: 0x7fffffff }), context, bytes(32), (outLen, id, ctx, master) =>
      hex(native.kdfDerive(outLen, id, ctx, master)) === hex(wasm.kdfDerive(outLen, id, ctx, master))), RUNS)
    t.pass('keystream, hash and KDF agree')
  })

  t.test('X25519 agrees, and both refuse small-order points', async (t) => {
    fc.assert(fc.property(bytes(32), bytes(32), (a, b) => {
      const pa = native.scalarmultBase(a)
      if (hex(pa) !== hex(wasm.scalarmultBase(a))) return false
      return hex(native.scalarmult(b, pa)) === hex(wasm.scalarmult(b, pa))
    }), { numRuns: 50 })
    const secret = wasm.randomBytes(32)
    for (const point of [new Uint8Array(32), Uint8Array.of(1, ...new Uint8Array(31))]) {
      t.throws(() => native.scalarmult(secret, point), 'native refuses')
      t.throws(() => wasm.scalarmult(secret, point), 'wasm refuses')
    }
  })

  t.test('Ed25519: same keys and signatures from a seed; each verifies the other\'s', async (t) => {
    fc.assert(fc.property(bytes(32), message, (seed, m) => {
      const n = native.signKeyPair(seed); const w = wasm.signKeyPair(seed)
      if (hex(n.publicKey) !== hex(w.publicKey) || hex(n.secretKey) !== hex(w.secretKey)) return false
      const sig = native.signDetached(n.secretKey, m)
      if (hex(sig) !== hex(wasm.signDetached(w.secretKey, m))) return false
      const bad = Uint8Array.from(sig); bad[0]! ^= 1
      return native.verifyDetached(w.publicKey, m, sig) && wasm.verifyDetached(n.publicKey, m, sig) &&
        !native.verifyDetached(n.publicKey, m, bad) && !wasm.verifyDetached(n.publicKey, m, bad)
    }), { numRuns: 50 })
    t.pass('Ed25519 agrees')
  })

  t.test('comparisons, zero tests, wiping and bounded draws', async (t) => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(), (a, i) => {
      const b = Uint8Array.from(a)
      if (b.length > 0) b[i % b.length]! ^= 1
      return native.memcmp(a, a) && wasm.memcmp(a, a) && native.memcmp(a, b) === wasm.memcmp(a, b) && native.isZero(a) === wasm.isZero(a)
    }), RUNS)
    const secret = native.randomBytes(40)
    native.memzero(secret)
    t.ok(wasm.isZero(secret), 'sodium_memzero wipes the caller\'s array')
    for (let i = 0; i < 200; i++) {
      const r = native.randomUniform(5)
      if (!Number.isInteger(r) || r < 0 || r >= 5) t.fail(`out of range: ${r}`)
    }
    t.equal(native.randomBytes(0).length, 0)
  })
}
