/**
 * The client's cascade source: the signed file is the trust anchor (its identities are
 * pinned), a URL supplies fresher descriptors, and expired, future-dated, rolled-back,
 * tampered or foreign ones are refused with clear errors while the current cascade stays in
 * use. Refreshes happen before each epoch change (and are retried while the next epoch's
 * keys are missing). Time is injected; the URL is a local HTTP server.
 */
import t, { type Test } from 'tap'
import { createServer } from 'node:http'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { cryptoReady, equal } from '../../src/crypto/index.js'
import { SignedCascadeSource } from '../../src/directory/cascade-source.js'
import { createCascadeDescriptor } from '../../src/directory/signed-cascade.js'
import { epochEndS, epochStartS } from '../../src/protocol/epoch.js'
import { NOW, schedule, testCascade, testNode } from './nodes.js'

await cryptoReady()

const nodes = testCascade(2)
/** The cascade as its hops describe it at `at` (keys for the epoch of `at` and the next). */
const cascadeAt = (at: number, hops = nodes): string => JSON.stringify(createCascadeDescriptor(hops.map((n) => n.describe({ at })), { now: at }))
const inEpoch = (epoch: number, offsetS = 600): number => epochStartS(schedule, epoch) + offsetS

/** A local server answering every GET with `body()` (status `status()`), counting requests. */
async function serve (t: Test, body: () => string, status: () => number = () => 200): Promise<{ url: string, requests: () => number }> {
  let requests = 0
  const server = createServer((_req, res) => {
    requests++
    res.statusCode = status()
    res.end(body())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/cascade`, requests: () => requests }
}

function anchorFile (t: Test, text: string): string {
  const dir = t.testdir({})
  const file = join(dir, 'cascade.json')
  writeFileSync(file, text)
  return file
}

t.test('from the file alone: the cascade with every covered epoch\'s keys, re-read on refresh', async (t) => {
  let now = NOW
  const file = anchorFile(t, cascadeAt(NOW))
  const source = await SignedCascadeSource.open({ file, clock: () => now * 1000, autoRefresh: false })
  t.teardown(() => source.close())
  const cascade = source.current()
  t.equal(cascade.hops.length, 3)
  t.same([...cascade.hops[0]!.onionKeys.keys()], [100, 101], 'the current and next epoch\'s keys')
  t.ok(equal(cascade.hops[2]!.onionKeys.get(101)!, nodes[2]!.onionKey(101)))
  t.equal(source.origin, 'file')

  now = inEpoch(101)
  writeFileSync(file, cascadeAt(now))
  await source.refresh()
  t.same([...source.current().hops[0]!.onionKeys.keys()], [101, 102], 'a newer file is taken')
  t.ok(equal(source.current().id, cascade.id), 'the cascade ID does not change with the keys')

  writeFileSync(file, cascadeAt(NOW))
  await t.rejects(source.refresh(), { code: 'CASCADE_REFRESH_FAILED', message: /cascade descriptor: its newest onion keys are for epoch 101, older than epoch 102 already seen/ }, 'an older file is a rollback')
  t.same([...source.current().hops[0]!.onionKeys.keys()], [101, 102], 'the cascade in use is kept')
})

t.test('an expired or tampered file is refused when there is no URL', async (t) => {
  const expired = anchorFile(t, cascadeAt(NOW))
  await t.rejects(SignedCascadeSource.open({ file: expired, clock: () => inEpoch(103) * 1000, autoRefresh: false }),
    { code: 'DESCRIPTOR_EXPIRED', message: /cascade descriptor ".*cascade\.json": cascade descriptor: expired at .*, and no cascadeUrl is set to fetch a current one/ })
  const tampered = anchorFile(t, cascadeAt(NOW).replace('127.0.0.1:9002', '127.0.0.1:9003'))
  await t.rejects(SignedCascadeSource.open({ file: tampered, clock: () => NOW * 1000, autoRefresh: false }),
    { code: 'DESCRIPTOR_BAD_SIGNATURE', message: /hop 2: the signature does not verify/ })
  const future = anchorFile(t, cascadeAt(inEpoch(105)))
  await t.rejects(SignedCascadeSource.open({ file: future, clock: () => NOW * 1000, autoRefresh: false }), { code: 'DESCRIPTOR_NOT_YET_VALID' })
  await t.rejects(SignedCascadeSource.open({ file: join(t.testdir({}), 'none.json'), autoRefresh: false }), { code: 'CONFIG_UNREADABLE', message: /no such file or directory/ })
})

t.test('a URL supplies fresh descriptors pinned to the file\'s identities; bad ones are refused clearly', async (t) => {
  let now = NOW
  let body = cascadeAt(NOW)
  let status = 200
  const server = await serve(t, () => body, () => status)
  const file = anchorFile(t, cascadeAt(NOW))
  const source = await SignedCascadeSource.open({ file, url: server.url, clock: () => now * 1000, autoRefresh: false })
  t.teardown(() => source.close())
  t.equal(source.origin, 'url', 'fetched at open')
  t.equal(server.requests(), 1)

  now = inEpoch(101)
  body = cascadeAt(now)
  await source.refresh()
  t.same(source.verified.epochs, [101, 102], 'the next epoch\'s keys arrive from the URL')

  const refused: Array<[string, string, RegExp]> = [
    ['one byte changed', cascadeAt(now).replace('"roundMs":10', '"roundMs":12'), /refused: hop 1 signed roundMs 10, but the cascade says 12/],
    ['other identities', cascadeAt(now, [testNode(7, 'mix'), testNode(8, 'mix'), testNode(9, 'exit')]), /refused: hop 1: signed by identity key [0-9a-f]{8}…, not the pinned [0-9a-f]{8}…/],
    ['rolled back', cascadeAt(inEpoch(100, 3000)), /refused: cascade descriptor: its newest onion keys are for epoch 101, older than epoch 102 already seen/],
    ['future-dated', cascadeAt(inEpoch(102)), /refused: cascade descriptor: valid from .*, in the future/],
    ['not JSON', '<html>', /refused: descriptor is not valid JSON/],
  ]
  writeFileSync(file, cascadeAt(NOW)) // the file cannot help: it is older
  for (const [what, text, message] of refused) {
    body = text
    t.not(text, cascadeAt(now), `${what}: the descriptor differs`)
    const error = await source.refresh().then(() => undefined, (err: Error) => err)
    t.match(error, { code: 'CASCADE_REFRESH_FAILED', message }, `${what}: refused, saying why`)
    t.same(source.verified.epochs, [101, 102], `${what}: the cascade in use is kept`)
  }
  status = 503
  t.match(await source.refresh().catch((err: Error) => err), { message: /cannot fetch http:\/\/127\.0\.0\.1:\d+\/cascade: HTTP status 503/ })

  status = 200
  now = inEpoch(102)
  body = cascadeAt(now)
  await source.refresh()
  t.same(source.verified.epochs, [102, 103], 'a good descriptor is taken again')
})

t.test('an expired file still anchors the pins when the URL has a current descriptor', async (t) => {
  const now = inEpoch(104)
  const server = await serve(t, () => cascadeAt(now))
  const file = anchorFile(t, cascadeAt(NOW))
  const source = await SignedCascadeSource.open({ file, url: server.url, clock: () => now * 1000, autoRefresh: false })
  t.teardown(() => source.close())
  t.same(source.verified.epochs, [104, 105])
  const foreign = await serve(t, () => cascadeAt(now, [testNode(7, 'mix'), testNode(8, 'mix'), testNode(9, 'exit')]))
  await t.rejects(SignedCascadeSource.open({ file, url: foreign.url, clock: () => now * 1000, autoRefresh: false }), { code: 'DESCRIPTOR_IDENTITY_MISMATCH' })
  const down = await serve(t, () => 'gone', () => 404)
  await t.rejects(SignedCascadeSource.open({ file, url: down.url, clock: () => now * 1000, autoRefresh: false }), { code: 'CASCADE_FETCH_FAILED', message: /HTTP status 404/ })
})

t.test('refreshes are timed before each epoch change and retried while the next keys are missing', async (t) => {
  let now = NOW
  const file = anchorFile(t, cascadeAt(NOW))
  const source = await SignedCascadeSource.open({ file, clock: () => now * 1000, autoRefresh: false, refreshLeadS: 300 })
  t.teardown(() => source.close())
  t.equal(source.nextRefreshDelayMs(), (epochEndS(schedule, 100) - 300 - NOW) * 1000, 'lead seconds before the end of the epoch')
  now = epochEndS(schedule, 100) - 100
  t.equal(source.nextRefreshDelayMs(), (epochEndS(schedule, 101) - 300 - now) * 1000, 'past that point with the next keys in hand: before the next change')
  now = epochEndS(schedule, 101) - 100
  t.equal(source.nextRefreshDelayMs(), 75_000, 'without the next epoch\'s keys: retry every lead / 4')

  // The timer itself: due 50 ms from now, it fetches from the URL.
  const server = await serve(t, () => cascadeAt(NOW))
  now = epochEndS(schedule, 100) - 1
  const timed = await SignedCascadeSource.open({ file, url: server.url, clock: () => now * 1000, refreshLeadS: 1 - 0.05 })
  t.teardown(() => timed.close())
  const before = server.requests()
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.ok(server.requests() > before, 'the timer refreshed from the URL')
})
