/**
 * Test helper: a copy of what packing reads from this checkout (sources, bin, man pages,
 * units, docs, packaging scripts, package.json and its lock), with no dist/ at all, in a
 * temp dir removed at teardown. The packaging tests build and pack there: `npm pack`'s
 * prepack rebuilds dist/src from nothing, which in the checkout itself would pull the
 * compiled program from under the other tests running beside them; and starting without
 * dist/ proves the package does not depend on a build someone happened to leave behind.
 * node_modules is a link to the checkout's (the compiler and the npm cache's dependencies).
 */
import { cp, mkdtemp, rm, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The checkout, from dist/test/packaging/ where this file runs. */
export const REPO = fileURLToPath(new URL('../../../', import.meta.url))

const PACKED_FROM = ['package.json', 'package-lock.json', 'tsconfig.json', 'README.md', 'src', 'bin', 'man', 'systemd', 'docs', 'packaging']

interface Teardown {
  teardown (fn: () => unknown): void
}

/** A fresh temp dir (removed at teardown). */
export async function tempDir (t: Teardown, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** Copy the packed-from files into a new temp dir; returns its path. */
export async function copyRepo (t: Teardown): Promise<string> {
  const dir = await tempDir(t, 'mixgate-pack-')
  for (const entry of PACKED_FROM) await cp(join(REPO, entry), join(dir, entry), { recursive: true, verbatimSymlinks: true })
  await symlink(join(REPO, 'node_modules'), join(dir, 'node_modules'))
  return dir
}
