/**
 * The fuzzer's only source of randomness: a small seeded PRNG (xoshiro128**, seeded through
 * splitmix32), so that a run is reproduced exactly by its seed. Never Math.random, and never
 * the CSPRNG for anything that shapes an input: keys and nonces the targets need are drawn
 * from here too, so a saved crash replays byte for byte.
 */
export class Prng {
  private a: number
  private b: number
  private c: number
  private d: number

  constructor (seed: number) {
    let s = seed >>> 0
    const next = (): number => {
      // splitmix32: spreads a small seed over the whole state.
      s = (s + 0x9e3779b9) >>> 0
      let z = s
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
      return (z ^ (z >>> 16)) >>> 0
    }
    this.a = next(); this.b = next(); this.c = next(); this.d = next()
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1
  }

  /** A uniform 32-bit unsigned integer. */
  u32 (): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5) >>> 0, 7), 9) >>> 0
    const t = (this.b << 9) >>> 0
    this.c ^= this.a; this.d ^= this.b; this.b ^= this.c; this.a ^= this.d
    this.c ^= t
    this.d = rotl(this.d, 11)
    return result
  }

  /** Uniform in [0, n) for 1 ≤ n ≤ 2^32 (rejection sampling: no modulo bias). */
  below (n: number): number {
    if (n <= 1) return 0
    if (n > 0x1_0000_0000) throw new RangeError('below() takes n up to 2^32')
    const limit = 0x1_0000_0000 - (0x1_0000_0000 % n)
    for (;;) {
      const x = this.u32()
      if (x < limit) return x % n
    }
  }

  /** Uniform in [min, max], both inclusive. */
  int (min: number, max: number): number {
    return min + this.below(max - min + 1)
  }

  /** True with probability p. */
  chance (p: number): boolean {
    return this.u32() < p * 0x1_0000_0000
  }

  pick<T> (items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick() from an empty list')
    return items[this.below(items.length)]!
  }

  /** n uniform bytes. */
  bytes (n: number): Uint8Array {
    const out = new Uint8Array(n)
    this.fill(out)
    return out
  }

  fill (out: Uint8Array): void {
    let i = 0
    for (; i + 4 <= out.length; i += 4) {
      const x = this.u32()
      out[i] = x; out[i + 1] = x >>> 8; out[i + 2] = x >>> 16; out[i + 3] = x >>> 24
    }
    if (i < out.length) {
      let x = this.u32()
      for (; i < out.length; i++) { out[i] = x; x >>>= 8 }
    }
  }

  /** A child generator with its own stream, so one target's draws never shift another's. */
  fork (label: string): Prng {
    let h = this.u32()
    for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0
    return new Prng(h)
  }
}

function rotl (x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0
}

/** A stable 32-bit seed for a target name under a run seed (FNV-1a over both). */
export function seedFor (runSeed: number, name: string): number {
  let h = 0x811c9dc5 ^ (runSeed >>> 0)
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0
  h = Math.imul(h ^ (runSeed >>> 16), 0x01000193) >>> 0
  return h >>> 0
}
