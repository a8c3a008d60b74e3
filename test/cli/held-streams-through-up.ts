/**
 * Test helper for issue #17 through `mixgate up` as a user runs it (up-many-streams-*.test.ts):
 * 1,000 SOCKS5 CONNECTs without credentials (one isolation key) held open at once against a
 * local echo server, each answered 0x00 and echoing a byte. A key's streams spread over as
 * many circuits as they need (256 a circuit off, 500 shaped: src/protocol/stream-bound.ts);
 * before, the 257th failed with 0x01. The client's /metrics says no bound was met; once they
 * closed, every thread of `up` collects its garbage once (src/node/burst-collector.ts).
 */
import type { Test } from 'tap'
import type { ShapingProfile } from '../../src/protocol/shaping.js'
import { openHeldStreams, startEchoHolder } from '../../bench/held-streams.js'
import { clientStreamsPerCircuit } from '../../src/protocol/stream-bound.js'
import { defaultHopThreads } from '../../src/node/threads/hop-thread-plan.js'
import { startCli } from './spawn-cli.js'

export const STREAMS = 1000
/**
 * `MIXGATE_TEST_HOP_THREADS=1` runs the same test with `up --hop-threads 1` (the hops share
 * one thread), and prints up's warnings whatever the outcome: for measuring that setting by
 * hand, not in `npm test`.
 */
const HOP_THREADS = process.env.MIXGATE_TEST_HOP_THREADS
const ADMIN = /^mixgate: admin (http:\/\/127\.0\.0\.1:\d+) /m
const SOCKS = /^mixgate: SOCKS5 proxy listening on 127\.0\.0\.1:(\d+) /m

/** One sample of a counter in Prometheus text (0 when absent). */
function sample (text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(name))
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1))
}

/** Hold STREAMS streams through `up --shaping profile --mixes mixes`, `inFlight` requests unanswered at a time. */
export async function holdThroughUp (t: Test, profile: ShapingProfile, mixes: number, inFlight: number): Promise<void> {
  const holder = await startEchoHolder()
  t.teardown(() => holder.close())
  // A day-long epoch: every shaped circuit ends at its epoch's end (the hour, by default), and
  // a run across it would see its streams cut by the schedule, not by any bound.
  const up = startCli(t, ['up', '--socks', '127.0.0.1:0', '--shaping', profile, '--mixes', String(mixes), '--epoch-s', '86400',
    '--exit-policy', 'accept 127.0.0.1:*', '--log-level', 'info', ...(HOP_THREADS === undefined ? [] : ['--hop-threads', HOP_THREADS])])
  await up.waitForStdout(/try: .*\n/, 30_000)
  const socksPort = Number(SOCKS.exec(up.stdout())![1])
  const admin = ADMIN.exec(up.stdout())![1]!

  const held = await openHeldStreams({ socksPort, targetPort: holder.port, count: STREAMS, inFlight, timeoutMs: 45_000 })
  t.teardown(() => held.close())
  t.same(held.result.replies, {}, 'no request refused')
  t.equal(held.result.lost, 0, 'none lost')
  t.equal(held.result.served, STREAMS, `all ${STREAMS} answered 0x00, each echoing its byte`)
  t.equal(held.result.held, STREAMS, 'all open at once')

  const metrics = await (await fetch(`${admin}/metrics`)).text()
  t.ok(sample(metrics, 'mixgate_circuits_built_total') >= Math.ceil(STREAMS / clientStreamsPerCircuit(profile)), 'spread over as many circuits as they need')
  t.equal(sample(metrics, 'mixgate_stream_limits_reached_total{limit="circuits"}'), 0, 'no bound met')
  t.equal(sample(metrics, 'mixgate_stream_limits_reached_total{limit="circuit_streams"}'), 0)

  held.close()
  // Once they closed and the count has been quiet 5 s, every thread collects, one after another
  // (src/node/burst-collector.ts): the hop threads, each under its first hop's label, then the client.
  const threads = Number(HOP_THREADS ?? defaultHopThreads(mixes + 1, profile))
  await up.waitForStderr(/ client memory\.collected streamsFreed=\d+/, 30_000)
  const collected = up.stderr().split('\n').filter((line) => / memory\.collected /.test(line))
  t.equal(collected.length, threads + 1, `one collection in each of the ${threads} hop threads and the client's`)
  t.ok(collected.every((line) => Number(/streamsFreed=(\d+)/.exec(line)?.[1]) >= 256), 'each after a burst of 256 streams or more')
  t.same(await up.stop('SIGINT', 20_000), { code: 0, signal: null }, 'up stops cleanly with them')
  // On a failure, what up counted (its aggregate lines are written when it stops).
  if (held.result.served !== STREAMS || HOP_THREADS !== undefined) t.comment(up.stderr().split('\n').filter((line) => / (warn|error) /.test(line)).slice(-20).join('\n'))
}
