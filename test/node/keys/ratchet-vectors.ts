/**
 * The onion-key ratchet's test vectors: a fixed seed for epoch 0 and what the ratchet makes
 * of it for epochs 0..3. test/fixtures/vectors/ratchet.json holds the committed bytes
 * (written by `node dist/test/node/keys/write-key-vectors.js`); ratchet.test.ts
 * recomputes them. A second implementation can check itself against the JSON alone
 * (formulas: docs/KEYS.md "The ratchet").
 */
import { blake2b } from '../../../src/crypto/index.js'
import { onionKeyPair, ratchetSeed } from '../../../src/node/keys/ratchet.js'

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
/** A deterministic 32-byte value for a label, so inputs are reproducible and readable. */
export const labelled = (label: string): Uint8Array => blake2b(32, new TextEncoder().encode(`mixgate test vector ${label}`))

export function ratchetVectors (): Record<string, unknown> {
  const seed0 = labelled('ratchet seed')
  const epochs = [0, 1, 2, 3].map((epoch) => {
    const seed = ratchetSeed(seed0, epoch)
    const pair = onionKeyPair(seed)
    return { epoch, seed: hex(seed), onionSecretKey: hex(pair.secretKey), onionPublicKey: hex(pair.publicKey) }
  })
  return {
    description: 'onion-key ratchet (docs/KEYS.md): seed_{e+1} = BLAKE2b-256("mixgate/v1/ratchet" ‖ seed_e); sk_e = crypto_kdf_derive_from_key(32, 1, "mgonion1", seed_e); pk_e = X25519_base(sk_e)',
    input: { seed0: hex(seed0) },
    epochs,
  }
}
