/**
 * Writing and checking files that hold secrets: private modes, atomic durable replacement,
 * and best-effort wiping of what is left behind.
 *
 * Replacement follows the one order that survives a crash at any point:
 *   write PATH.tmp (created exclusively, mode 0600) → fsync it → rename over PATH → fsync the dir.
 * Until the rename the old file is intact; after it the new one is, and the directory fsync
 * makes the rename itself durable. A leftover PATH.tmp therefore never holds the only copy of
 * anything and is removed by whoever opens the store next.
 *
 * "Wiping" a file overwrites its blocks with zeros through an open descriptor before the
 * last name goes away. On journaling, copy-on-write or flash storage the old bytes may
 * survive elsewhere (docs/KEYS.md says so); it is still better than leaving them in place.
 */
import { lstat, mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises'
import { dirname } from 'node:path'
import { KeysError, KeysErrorCode } from '../../protocol/keys-errors.js'

export const PRIVATE_FILE_MODE = 0o600
export const PRIVATE_DIR_MODE = 0o700
export const TMP_SUFFIX = '.tmp'

/**
 * Make sure `dir` exists (created with mode 0700 if not) and that no one but its owner can
 * write to it: a directory others can write to lets them swap a key file under the node.
 */
export async function ensurePrivateDir (dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE })
  const info = await stat(dir)
  if (!info.isDirectory()) throw new KeysError(KeysErrorCode.BAD_MODE, `${JSON.stringify(dir)} is not a directory`)
  if ((info.mode & 0o022) !== 0) {
    throw new KeysError(KeysErrorCode.BAD_MODE, `key directory ${JSON.stringify(dir)} is writable by group or others (mode ${octal(info.mode)}); run chmod 700 on it`)
  }
}

/**
 * Refuse a secret file that group or others can read or write, or that is not a regular
 * file. Symlinks are followed (a key may live on a secrets mount); the target is checked.
 */
export async function checkPrivateFile (path: string): Promise<void> {
  const info = await stat(path)
  if (!info.isFile()) throw new KeysError(KeysErrorCode.BAD_MODE, `${JSON.stringify(path)} is not a regular file`)
  if ((info.mode & 0o077) !== 0) {
    throw new KeysError(KeysErrorCode.BAD_MODE, `key file ${JSON.stringify(path)} is accessible by group or others (mode ${octal(info.mode)}); run chmod 600 on it`)
  }
}

/** `true` if something exists at `path` (a dangling symlink counts). */
export async function exists (path: string): Promise<boolean> {
  try {
    await lstat(path)
    return true
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return false
    throw err
  }
}

/**
 * Replace (or create) `path` with `bytes`, mode 0600, durably and atomically. With
 * `wipeOld`, the replaced file's blocks are overwritten with zeros once the new file is
 * durable (for seeds that must not outlive their epoch).
 */
export async function writePrivateFile (path: string, bytes: Uint8Array, options: { wipeOld?: boolean } = {}): Promise<void> {
  const tmp = path + TMP_SUFFIX
  await removeLeftover(tmp)
  const handle = await open(tmp, 'wx', PRIVATE_FILE_MODE)
  try {
    await handle.chmod(PRIVATE_FILE_MODE) // whatever the umask did
    await handle.writeFile(bytes)
    await handle.sync()
  } finally {
    await handle.close()
  }
  let old: FileHandle | undefined
  if (options.wipeOld === true) old = await openIfExists(path)
  try {
    await rename(tmp, path)
    await syncDir(dirname(path))
    if (old !== undefined) await zeroFile(old)
  } finally {
    await old?.close()
  }
}

/** Overwrite `path` with zeros, then remove it durably. Absent files are fine. */
export async function wipeAndRemove (path: string): Promise<void> {
  const handle = await openIfExists(path)
  if (handle === undefined) return
  try {
    await zeroFile(handle)
  } finally {
    await handle.close()
  }
  await rm(path, { force: true })
  await syncDir(dirname(path))
}

/** Remove a leftover `*.tmp` from a write a crash interrupted (wiped first: it may hold a key). */
export async function removeLeftover (tmp: string): Promise<boolean> {
  if (!(await exists(tmp))) return false
  const info = await lstat(tmp)
  if (info.isFile()) await wipeAndRemove(tmp)
  else await rm(tmp, { force: true })
  return true
}

/** fsync a directory, so that a rename or unlink in it survives a crash. */
export async function syncDir (dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/** Lowercase hex of `bytes` as ASCII bytes plus a newline: key text that never becomes a JS string. */
export function hexLine (bytes: Uint8Array): Uint8Array {
  const digits = '0123456789abcdef'
  const out = new Uint8Array(bytes.length * 2 + 1)
  for (let i = 0; i < bytes.length; i++) {
    out[2 * i] = digits.charCodeAt(bytes[i]! >> 4)
    out[2 * i + 1] = digits.charCodeAt(bytes[i]! & 15)
  }
  out[out.length - 1] = 0x0a
  return out
}

/** The file at `path` opened for overwriting; undefined if absent or read-only (then it is not wiped). */
async function openIfExists (path: string): Promise<FileHandle | undefined> {
  try {
    return await open(path, 'r+')
  } catch (err) {
    const code = (err as { code?: unknown }).code
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EPERM') return undefined
    throw err
  }
}

async function zeroFile (handle: FileHandle): Promise<void> {
  const { size } = await handle.stat()
  const zeros = new Uint8Array(Math.min(size, 1 << 20))
  for (let offset = 0; offset < size; offset += zeros.length) {
    await handle.write(zeros, 0, Math.min(zeros.length, size - offset), offset)
  }
  await handle.sync()
}

function octal (mode: number): string {
  return '0' + (mode & 0o777).toString(8)
}
