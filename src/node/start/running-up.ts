/**
 * How `mixgate status` with no flag finds a running `mixgate up` on this machine: each `up`
 * writes a small file, `up-<pid>.json`, holding its client's admin URL (and its doors), into
 * a runtime directory of this user, and removes it when it stops. `status` reads the files
 * whose process still runs; a file left by a crash is ignored (its process is gone).
 *
 * The directory: $MIXGATE_RUNTIME_DIR if set (tests), else $XDG_RUNTIME_DIR/mixgate, else
 * <tmpdir>/mixgate-<uid>. It is made with mode 0700 and used only if it is a real directory
 * (not a symlink) owned by this user and closed to others: in a shared /tmp another user could
 * have made it first, to hand `status` an admin URL of their choosing. The file holds no
 * secret: addresses on loopback that this user's processes could find anyway.
 */
import { lstat, mkdir, readdir, readFile, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface RunningUp {
  readonly pid: number
  /** The client's admin URL, `http://127.0.0.1:PORT`. */
  readonly admin: string
  readonly socks: string
  readonly http?: string
}

const FILE = /^up-(\d+)\.json$/

export function runtimeDir (env: NodeJS.ProcessEnv = process.env): string {
  if (env.MIXGATE_RUNTIME_DIR !== undefined && env.MIXGATE_RUNTIME_DIR !== '') return env.MIXGATE_RUNTIME_DIR
  if (env.XDG_RUNTIME_DIR !== undefined && env.XDG_RUNTIME_DIR !== '') return join(env.XDG_RUNTIME_DIR, 'mixgate')
  return join(tmpdir(), `mixgate-${process.getuid?.() ?? 'user'}`)
}

/**
 * Record this process's `up`; resolves with a function that removes the record. If the
 * directory cannot be made safe, resolves with `undefined` and the reason (status then needs
 * --admin; `up` itself runs on).
 */
export async function recordRunningUp (entry: Omit<RunningUp, 'pid'>, dir = runtimeDir()): Promise<{ remove: () => Promise<void> } | { problem: string }> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 })
    const problem = await unsafeDir(dir)
    if (problem !== undefined) return { problem }
    const path = join(dir, `up-${process.pid}.json`)
    await writeFile(path, JSON.stringify({ pid: process.pid, ...entry }) + '\n', { mode: 0o600 })
    return { remove: async () => { await unlink(path).catch(() => {}) } }
  } catch (err) {
    return { problem: (err as { code?: string }).code ?? String(err) }
  }
}

/** The `up`s recorded in `dir` whose process still runs, oldest PID first. */
export async function findRunningUps (dir = runtimeDir()): Promise<RunningUp[]> {
  if (await unsafeDir(dir) !== undefined) return []
  const names = await readdir(dir).catch(() => [] as string[])
  const found: RunningUp[] = []
  for (const name of names) {
    const match = FILE.exec(name)
    if (match === null) continue
    const entry = await readEntry(join(dir, name))
    if (entry === undefined || entry.pid !== Number(match[1]) || !alive(entry.pid)) continue
    found.push(entry)
  }
  return found.sort((a, b) => a.pid - b.pid)
}

async function readEntry (path: string): Promise<RunningUp | undefined> {
  try {
    const value = JSON.parse(await readFile(path, 'utf8')) as Partial<RunningUp>
    if (typeof value.pid !== 'number' || typeof value.admin !== 'string' || typeof value.socks !== 'string') return undefined
    if (!/^http:\/\/(127\.0\.0\.1|\[::1\]|localhost):\d+$/.test(value.admin)) return undefined // loopback admin ports only
    return { pid: value.pid, admin: value.admin, socks: value.socks, ...(typeof value.http === 'string' ? { http: value.http } : {}) }
  } catch {
    return undefined
  }
}

/** Why `dir` must not be trusted, or undefined if it is this user's own private directory. */
async function unsafeDir (dir: string): Promise<string | undefined> {
  try {
    const info = await lstat(dir)
    if (!info.isDirectory()) return `${dir} is not a directory`
    const uid = process.getuid?.()
    if (uid !== undefined && info.uid !== uid) return `${dir} belongs to another user`
    if ((info.mode & 0o077) !== 0) return `${dir} is open to other users (mode ${(info.mode & 0o777).toString(8)})`
    return undefined
  } catch (err) {
    return (err as { code?: string }).code ?? String(err)
  }
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM'
  }
}
