/**
 * The bench's memory figures of `up` (bench/up-memory-figures.ts): RSS read from /proc after
 * the idle wait and after the settle wait, in 10^6 bytes, and their ratio; one log line that
 * says both and how long each wait was.
 */
import t from 'tap'
import { describeUpMemory, measureIdle, memoryWaits, upMemory } from '../../bench/up-memory-figures.js'

t.test('the figures from two readings', async (t) => {
  const m = upMemory(125e6, 150e6, { idleS: 20, settleS: 30 })
  t.equal(m.idleMB, 125)
  t.equal(m.afterMB, 150)
  t.equal(m.afterToIdle, 1.2)
  t.same([m.idleS, m.settleS], [20, 30])
  t.ok(Number.isNaN(upMemory(0, 150e6, memoryWaits(true)).afterToIdle), 'no idle reading (the process was gone): no ratio')
  t.equal(describeUpMemory(m), 'up RSS: 125.0 MB idle (after 20 s), 150.0 MB 30 s after the last stream closed (1.20× idle)')
  const kinds = {
    idle: { fileMiB: 48, v8MiB: 55, arenasMiB: 15, brkMiB: 8, otherMiB: 8 },
    after: { fileMiB: 48, v8MiB: 60, arenasMiB: 90, brkMiB: 10, otherMiB: 9 },
  }
  t.equal(describeUpMemory({ ...m, kinds }), 'up RSS: 125.0 MB idle (after 20 s), 150.0 MB 30 s after the last stream closed (1.20× idle); ' +
    'MiB idle → after: V8 heaps 55 → 60, malloc and the rest 31 → 109, files 48 → 48', 'and where it was, by kind of mapping')
})

t.test('quick runs wait less', async (t) => {
  const full = memoryWaits(false)
  const quick = memoryWaits(true)
  t.ok(quick.idleS < full.idleS && quick.settleS < full.settleS)
})

t.test('reads a live process\'s RSS from /proc, before and after', async (t) => {
  const finish = await measureIdle(process.pid, { idleS: 0, settleS: 0 })
  const m = await finish()
  // This test process is a node process: tens of MB resident, never zero.
  t.ok(m.idleMB > 10 && m.afterMB > 10, `${m.idleMB} MB, ${m.afterMB} MB`)
  t.ok(m.afterToIdle > 0.5 && m.afterToIdle < 2)
  t.ok(m.kinds !== undefined && m.kinds.after.fileMiB > 1, 'by kind too: node\'s own code is a mapped file')
})
