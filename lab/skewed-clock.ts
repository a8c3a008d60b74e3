/**
 * A node's clock set wrong, for the lab's clock-skew fault: loaded with `node --import` before
 * mixgate, it moves `Date.now()` (the wall clock every part of mixgate reads: rounds aligned
 * under shaping, key epochs, descriptor validity; src/clock/round-clock.ts) by
 * MIXGATE_LAB_CLOCK_SKEW_MS milliseconds. The monotonic clock (process.hrtime) is left alone,
 * as a host's wrong wall clock leaves it.
 */
const skewMs = Number(process.env.MIXGATE_LAB_CLOCK_SKEW_MS ?? '0')
if (Number.isFinite(skewMs) && skewMs !== 0) {
  const realNow = Date.now
  Date.now = () => realNow() + skewMs
}
export {}
