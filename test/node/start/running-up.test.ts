/**
 * The record `mixgate up` leaves for `mixgate status` (running-up.ts): written and removed,
 * found only while its process runs, and never read from a directory another user could
 * have prepared (open to others); entries that are not loopback admin URLs are ignored.
 */
import t from 'tap'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { findRunningUps, recordRunningUp, runtimeDir } from '../../../src/node/start/running-up.js'

function scratch (t: Tap): string {
  const dir = mkdtempSync(join(tmpdir(), 'mixgate-running-up-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}
type Tap = { teardown (fn: () => void): void }

t.test('recorded, found while the process runs, gone once removed', async (t) => {
  const dir = join(scratch(t), 'runtime')
  const record = await recordRunningUp({ admin: 'http://127.0.0.1:4242', socks: '127.0.0.1:1080', http: '127.0.0.1:8118' }, dir)
  if (!('remove' in record)) throw new Error(record.problem)
  t.same(await findRunningUps(dir), [{ pid: process.pid, admin: 'http://127.0.0.1:4242', socks: '127.0.0.1:1080', http: '127.0.0.1:8118' }])
  await record.remove()
  t.same(await findRunningUps(dir), [])
})

t.test('records of processes that are gone, or that are not loopback admin URLs, are ignored', async (t) => {
  const dir = scratch(t)
  const dead = 2 ** 22 + 12345 // above Linux's pid_max: no such process
  writeFileSync(join(dir, `up-${dead}.json`), JSON.stringify({ pid: dead, admin: 'http://127.0.0.1:1', socks: '127.0.0.1:2' }))
  writeFileSync(join(dir, `up-${process.pid}.json`), JSON.stringify({ pid: process.pid, admin: 'http://203.0.113.9:80', socks: '127.0.0.1:2' }))
  writeFileSync(join(dir, 'up-1.json'), '{ not json')
  t.same(await findRunningUps(dir), [])
})

t.test('a directory open to other users is neither written nor read', async (t) => {
  const dir = join(scratch(t), 'shared')
  mkdirSync(dir)
  chmodSync(dir, 0o777)
  writeFileSync(join(dir, `up-${process.pid}.json`), JSON.stringify({ pid: process.pid, admin: 'http://127.0.0.1:9', socks: '127.0.0.1:2' }))
  t.same(await findRunningUps(dir), [], 'not read')
  const record = await recordRunningUp({ admin: 'http://127.0.0.1:4242', socks: '127.0.0.1:1080' }, dir)
  t.match(record, { problem: /open to other users/ }, 'not written')
})

t.test('the directory: MIXGATE_RUNTIME_DIR, else XDG_RUNTIME_DIR/mixgate, else a per-user one in tmp', async (t) => {
  t.equal(runtimeDir({ MIXGATE_RUNTIME_DIR: '/x' }), '/x')
  t.equal(runtimeDir({ XDG_RUNTIME_DIR: '/run/user/1000' }), '/run/user/1000/mixgate')
  t.match(runtimeDir({}), /mixgate-\d+$/)
})
