/** The redial backoff the client and the mixes share (src/link/redial.ts). */
import t from 'tap'
import { FIRST_REDIAL_MS, Redial } from '../../src/link/redial.js'

t.test('waits double from 100 ms up to the ceiling, one timer at most, and start over after a success', async (t) => {
  let dials = 0
  const redial = new Redial(() => { dials++ }, 400)
  t.teardown(() => redial.stop())
  const waits: number[] = []
  for (let i = 0; i < 4; i++) { waits.push(redial.nextMs); redial.schedule(); redial.stop() }
  t.same(waits, [100, 200, 400, 400], 'doubling, capped')
  redial.succeeded()
  t.equal(redial.nextMs, FIRST_REDIAL_MS, 'a link that came up resets the wait')
  redial.schedule()
  redial.schedule()
  await new Promise((resolve) => setTimeout(resolve, 250))
  t.equal(dials, 1, 'two schedules before the timer fired dial once')
  redial.schedule()
  redial.stop()
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.equal(dials, 1, 'stop cancels the pending dial')
})
