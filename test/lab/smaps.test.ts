/**
 * lab/smaps.ts: the soak's breakdown of a process's resident memory by kind of mapping. Its
 * kinds cover every mapping once, so they add up to the process's Rss; and this process, a
 * node with a V8 heap and its binary mapped, has some of each of those two.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { memoryMap } from '../../lab/smaps.js'

t.test('the kinds add up to the Rss of smaps_rollup, and a node process has V8 pages and file pages', async (t) => {
  const keep = Array.from({ length: 20_000 }, (_, i) => ({ i, s: `entry ${i}` })) // a heap with something in it
  const map = memoryMap(process.pid)
  const rollupKiB = Number(/^Rss:\s+(\d+)/m.exec(readFileSync('/proc/self/smaps_rollup', 'utf8'))![1])
  const total = map.fileMiB + map.v8MiB + map.arenasMiB + map.brkMiB + map.otherMiB
  // Read a moment apart: the heap may move by a few pages between the two reads.
  t.ok(Math.abs(total - rollupKiB / 1024) < 4, `kinds ${total.toFixed(1)} MiB against Rss ${(rollupKiB / 1024).toFixed(1)} MiB`)
  t.ok(map.v8MiB > 0, 'V8 heap pages found')
  t.ok(map.fileMiB > 0, 'file pages found')
  t.equal(keep.length, 20_000)
})
