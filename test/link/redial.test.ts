/** The redial backoff the client and the mixes share (src/link/redial.ts). */
import t from 'tap'
import { FIRST_REDIAL_MS, Redial } from '../../src/link/redial.js'

t.test('waits double from 100 ms up to the ceiling, one timer at most, and start over after a link stayed up', async (t) => {
  let dials = 0
  let clock = 0
  const redial = new Redial(() => { dials++ }, { maxMs: 400, stableMs: 1000, now: () => clock })
  t.teardown(() => redial.stop())
  const waits: number[] = []
  for (let i = 0; i < 4; i++) { waits.push(redial.nextMs); redial.schedule(); redial.stop() }
  t.same(waits, [100, 200, 400, 400], 'doubling, capped')
  redial.succeeded()
  clock += 999
  t.equal(redial.nextMs, 400, 'a link that closed before stableMs keeps the long wait')
  clock += 1
  t.equal(redial.nextMs, FIRST_REDIAL_MS, 'a link that stayed up stableMs resets the wait')
  redial.schedule()
  redial.schedule()
  await new Promise((resolve) => setTimeout(resolve, 250))
  t.equal(dials, 1, 'two schedules before the timer fired dial once')
  redial.schedule()
  redial.stop()
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.equal(dials, 1, 'stop cancels the pending dial')
})

t.test('a peer that accepts and closes at once is dialled ever more slowly', async (t) => {
  const clock = 0
  const redial = new Redial(() => {}, { maxMs: 5000, now: () => clock })
  t.teardown(() => redial.stop())
  const waits: number[] = []
  for (let i = 0; i < 8; i++) {
    redial.succeeded() // the handshake succeeds…
    waits.push(redial.nextMs)
    redial.schedule() // …and the link closes at once
    redial.stop()
  }
  t.same(waits, [100, 200, 400, 800, 1600, 3200, 5000, 5000], 'no reset for links that did not stay up')
})
