/**
 * One process per key dir. Two nodes on one key dir would each keep a replay table of their
 * own and append to the same tag logs: a CREATE seen by one would be fresh to the other (R2),
 * and the logs would no longer prove anything. So a node takes `DIR/lock` before it opens its
 * onion keys, as Tor takes its DataDirectory lock.
 *
 *   DIR/lock   the holder's PID in decimal and a newline, created with O_EXCL, mode 0600
 *
 * A lock left by a process that no longer exists (a kill -9, a crash, a reboot) is taken over;
 * a lock whose PID is alive is refused with a message that names the PID. A PID reused by an
 * unrelated process after a crash would keep the lock: the message says which file to remove.
 * A lock that cannot be written (the lab started a node on a full key dir: the file was
 * created, its PID could not be written) is removed again, and the start fails with a message
 * that names the file and the system's error, not a bare ENOSPC stack.
 */
import { open, readFile, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { KeysError, KeysErrorCode } from '../../protocol/keys-errors.js'

export const LOCK_FILE = 'lock'

export interface KeyDirLock {
  /** Remove the lock (idempotent). */
  release (): Promise<void>
}

/** Take the lock of `dir` for this process, or throw KEYS_DIR_LOCKED (or KEYS_DIR_WRITE_FAILED). */
export async function lockKeyDir (dir: string): Promise<KeyDirLock> {
  const path = join(dir, LOCK_FILE)
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, 'wx', 0o600)
      try {
        await handle.writeFile(`${process.pid}\n`)
        await handle.sync()
      } catch (err) {
        await handle.close().catch(() => {})
        await unlink(path).catch(() => {})
        const code = (err as NodeJS.ErrnoException).code ?? 'an I/O error'
        throw new KeysError(KeysErrorCode.DIR_WRITE_FAILED, `key dir ${JSON.stringify(dir)}: cannot write its lock file ${path} (${code}: ${(err as Error).message.replace(/^\w+: /, '')}); the node does not start until the key dir is writable (is its disk full?)`, { cause: err })
      }
      await handle.close()
      let held = true
      return {
        async release () {
          if (!held) return
          held = false
          await unlink(path).catch(() => {})
        },
      }
    } catch (err) {
      if (err instanceof KeysError || (err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const holder = await readHolder(path)
    if (holder !== undefined && holder !== process.pid && isAlive(holder)) {
      throw new KeysError(KeysErrorCode.DIR_LOCKED,
        `key dir ${JSON.stringify(dir)} is in use by process ${holder} (${path}); one node per key dir. If that process is not a mixgate node, remove the file`)
    }
    if (holder === process.pid) {
      throw new KeysError(KeysErrorCode.DIR_LOCKED, `key dir ${JSON.stringify(dir)} is already open in this process`)
    }
    // Stale: its process is gone. Remove it and try once more (another starter may win the race).
    await unlink(path).catch(() => {})
  }
  throw new KeysError(KeysErrorCode.DIR_LOCKED, `key dir ${JSON.stringify(dir)}: another process took the lock while this one started`)
}

async function readHolder (path: string): Promise<number | undefined> {
  try {
    const text = await readFile(path, 'utf8')
    const pid = Number(text.trim())
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: it exists but belongs to someone else — alive all the same.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
