/**
 * The soak's short version (lab/soak.ts; `npm run soak` runs 1,000 streams for 10 minutes):
 * 100 streams through `mixgate up` on 4 circuits for a few seconds, a tenth of them chatting,
 * a 1 MiB download running back to back; and 40 through one process per node (`separate`),
 * each of whose five processes is sampled. Every stream opens and stays open, every echo comes
 * back, no download is corrupted, and the samples see the process's descriptors for them. The
 * figures (memory per stream, RSS over time) are the soak's to print, not asserted here.
 */
import t from 'tap'
import { runSoak } from '../../lab/soak.js'

t.test('100 streams stay open and answer through up', { timeout: 90_000 }, async (t) => {
  const result = await runSoak({ streams: 100, circuits: 4, durationS: 6, sampleS: 2, shaping: 'off', chatEveryMs: 1000 })
  t.equal(result.streamsFailedToOpen, 0, 'every stream opened')
  t.equal(result.streamsLost, 0, 'none closed while open')
  t.ok(result.chats.ok > 0, 'chats answered')
  t.equal(result.chats.failed, 0, 'every echo came back')
  t.ok(result.downloads.intact > 0, 'downloads arrived intact')
  t.equal(result.downloads.corrupt, 0, 'no download corrupted')
  t.ok(result.samples.length > 0, 'sampled')
  t.ok(result.samples.every((s) => s.openStreams === 100 && s.fds >= 100), 'the samples see every stream and its descriptor')
})

t.test('40 streams through one process per node, each process sampled', { timeout: 90_000 }, async (t) => {
  const result = await runSoak({ streams: 40, circuits: 2, durationS: 3, sampleS: 1, shaping: 'off', target: 'separate', chatEveryMs: 1000 })
  t.equal(result.streamsFailedToOpen, 0, 'every stream opened')
  t.equal(result.streamsLost, 0, 'none closed while open')
  t.equal(result.chats.failed, 0, 'every echo came back')
  t.equal(result.downloads.corrupt, 0, 'no download corrupted')
  const last = result.samples.at(-1)!
  t.same(Object.keys(last.processes).sort(), ['client', 'exit', 'mix1', 'mix2', 'mix3'], 'every node sampled')
  t.ok(Object.values(last.processes).every((m) => m.rssMiB > 0 && m.map.v8MiB > 0), 'each process has its RSS and its V8 pages')
  t.equal(last.rssMiB, Object.values(last.processes).reduce((sum, m) => sum + m.rssMiB, 0), 'the sample\'s RSS is the sum of its processes')
})
