/**
 * A request's bookkeeping across its tries (src/client/stream-request.ts): one deadline from
 * the app's request, a bounded number of retries, each only while the attach timeout ends
 * before the deadline, and the app's first bytes kept for every try's BEGIN.
 */
import t from 'tap'
import { MAX_STREAM_RETRIES, StreamRequest } from '../../src/client/stream-request.js'

t.test('the deadline is the stream timeout from the request, whatever the tries', async (t) => {
  const request = new StreamRequest(1000, 30_000)
  t.equal(request.deadlineMs, 31_000)
  t.equal(request.remainingMs(1000), 30_000)
  t.equal(request.remainingMs(21_000), 10_000)
  t.equal(request.remainingMs(40_000), 0, 'never negative')
})

t.test('retries: bounded, and only while the attach timeout ends before the deadline', async (t) => {
  const request = new StreamRequest(0, 30_000)
  t.ok(request.retriesAfter(10_000, 0), 'first try: 10 s of 30')
  let taken = 0
  while (request.takeRetry()) taken++
  t.equal(taken, MAX_STREAM_RETRIES, `${MAX_STREAM_RETRIES} retries, no more`)
  t.notOk(request.retriesAfter(10_000, 0), 'none left: the last try waits until the deadline')
  const late = new StreamRequest(0, 30_000)
  t.notOk(late.retriesAfter(10_000, 20_000), 'the attach timeout would reach the deadline: no retry')
  t.ok(late.retriesAfter(10_000, 19_999))
  t.notOk(new StreamRequest(0, 5000).retriesAfter(10_000, 0), 'an attach timeout above the stream timeout turns retries off')
  t.notOk(new StreamRequest(0, 30_000, 0).retriesAfter(10_000, 0), 'no retries configured')
})

t.test('the app\'s first bytes are kept across tries, and what came since is added after them', async (t) => {
  const request = new StreamRequest(0, 30_000)
  t.equal(request.early.length, 0)
  request.addEarly([Buffer.from('GET / HTTP/1.1\r\n'), Buffer.from('Host: a\r\n')])
  request.addEarly([])
  t.equal(request.early.toString(), 'GET / HTTP/1.1\r\nHost: a\r\n', 'a retry sends the same bytes')
  request.addEarly([Buffer.from('\r\n')])
  t.equal(request.early.toString(), 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', 'bytes sent since follow them, once')
})
