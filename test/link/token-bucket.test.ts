/** The token bucket behind the handshake and CREATE rates (src/link/token-bucket.ts): burst, refill, cap. */
import t from 'tap'
import { TokenBucket } from '../../src/link/token-bucket.js'

t.test('a full bucket gives its burst, then one token per 1/rate seconds, never more than the burst', async (t) => {
  const bucket = new TokenBucket(2, 3, 0)
  t.same([0, 0, 0, 0].map((now) => bucket.tryTake(now)), [true, true, true, false], 'the burst, then empty')
  t.equal(bucket.tryTake(499), false, 'not yet a whole token after 499 ms at 2/s')
  t.equal(bucket.tryTake(500), true, 'one token after 500 ms')
  t.equal(bucket.tryTake(500), false)
  // An hour later it holds its burst, not 7200 tokens.
  const later = 3_600_000
  t.same([later, later, later, later].map((now) => bucket.tryTake(now)), [true, true, true, false], 'refilled to the burst only')
  t.equal(bucket.tryTake(later - 10_000), false, 'time going backwards adds nothing')
})

t.test('bad parameters throw', async (t) => {
  t.throws(() => new TokenBucket(-1, 1, 0), RangeError)
  t.throws(() => new TokenBucket(Infinity, 1, 0), RangeError)
  t.throws(() => new TokenBucket(1, 0.5, 0), RangeError)
})
