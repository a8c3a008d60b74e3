/**
 * One process per key dir: a second opener is refused while the first lives, a lock left by
 * a dead process is taken over, and closing the keys releases the dir.
 */
import t, { type Test } from 'tap'
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cryptoReady } from '../../../src/crypto/index.js'
import { lockKeyDir, LOCK_FILE } from '../../../src/node/keys/dir-lock.js'
import { epochSchedule } from '../../../src/protocol/epoch.js'
import { openDurableOnionKeys } from '../../../src/node/keys/onion-key-source.js'

await cryptoReady()

async function tempDir (t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mixgate-lock-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** A process that is alive until the test ends it. */
function liveProcess (t: Test): number {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' })
  t.teardown(() => { child.kill('SIGKILL') })
  return child.pid!
}

/** The PID of a process that has exited. */
async function deadPid (): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
  await new Promise((resolve) => child.once('exit', resolve))
  return child.pid!
}

t.test('the lock file names this process and goes on release', async (t) => {
  const dir = await tempDir(t)
  const lock = await lockKeyDir(dir)
  t.equal(await readFile(join(dir, LOCK_FILE), 'utf8'), `${process.pid}\n`)
  await lock.release()
  t.notOk(existsSync(join(dir, LOCK_FILE)))
  await lock.release()
  t.pass('a second release is harmless')
})

t.test('a second lock in the same process is refused', async (t) => {
  const dir = await tempDir(t)
  const lock = await lockKeyDir(dir)
  t.teardown(() => lock.release())
  await t.rejects(lockKeyDir(dir), { code: 'KEYS_DIR_LOCKED', message: /already open in this process/ })
})

t.test('a lock held by a live process is refused, naming its PID', async (t) => {
  const dir = await tempDir(t)
  const pid = liveProcess(t)
  await writeFile(join(dir, LOCK_FILE), `${pid}\n`)
  await t.rejects(lockKeyDir(dir), { code: 'KEYS_DIR_LOCKED', message: new RegExp(`in use by process ${pid}`) })
  t.equal(await readFile(join(dir, LOCK_FILE), 'utf8'), `${pid}\n`, 'the holder keeps its lock')
})

t.test('a lock left by a dead process (kill -9, crash) is taken over', async (t) => {
  const dir = await tempDir(t)
  await writeFile(join(dir, LOCK_FILE), `${await deadPid()}\n`)
  const lock = await lockKeyDir(dir)
  t.equal(await readFile(join(dir, LOCK_FILE), 'utf8'), `${process.pid}\n`)
  await lock.release()
})

t.test('a garbled lock file is taken over', async (t) => {
  const dir = await tempDir(t)
  await writeFile(join(dir, LOCK_FILE), 'not a pid')
  const lock = await lockKeyDir(dir)
  await lock.release()
  t.pass()
})

t.test('durable onion keys hold the lock until closed', async (t) => {
  const dir = join(await tempDir(t), 'keys')
  const schedule = epochSchedule({ epochS: 3600 })
  const first = await openDurableOnionKeys({ dir, schedule, capacity: 64 })
  await t.rejects(openDurableOnionKeys({ dir, schedule, capacity: 64 }), { code: 'KEYS_DIR_LOCKED' })
  await first.close()
  const second = await openDurableOnionKeys({ dir, schedule, capacity: 64 })
  t.equal(second.discarded.length, 0, 'the first closed cleanly: nothing discarded')
  await second.close()
})

// A real full disk: a tmpfs mounted for the test (root only; the lab found this case, a node
// started on a full key dir, and CI runs as root).
function mountTmpfs (dir: string): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: a full disk needs a tmpfs mount'
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', dir], { stdio: 'ignore' })
    return undefined
  } catch {
    return 'mount -t tmpfs failed here'
  }
}
const fullDir = mkdtempSync(join(tmpdir(), 'mixgate-lock-full-'))
const unmountable = mountTmpfs(fullDir)
t.teardown(() => {
  if (unmountable === undefined) execFileSync('umount', ['-l', fullDir], { stdio: 'ignore' })
  rmSync(fullDir, { recursive: true, force: true })
})

t.test('a lock that cannot be written (full disk) fails with a message naming the file, and leaves no lock', { skip: unmountable ?? false }, async (t) => {
  const fill = join(fullDir, 'fill')
  await writeFile(fill, Buffer.alloc(1024 * 1024)).catch(() => {}) // ENOSPC once full
  await t.rejects(lockKeyDir(fullDir), { code: 'KEYS_DIR_WRITE_FAILED', message: /lock.*ENOSPC.*disk full/ })
  t.notOk(existsSync(join(fullDir, LOCK_FILE)), 'the empty lock file it created is removed')
  await rm(fill)
  const lock = await lockKeyDir(fullDir)
  t.equal(await readFile(join(fullDir, LOCK_FILE), 'utf8'), `${process.pid}\n`, 'with the space back, the lock is taken')
  await lock.release()
})
