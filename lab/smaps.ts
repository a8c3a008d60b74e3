/**
 * Where a node process's resident memory is, from /proc/PID/smaps, by the kind of mapping
 * (the soak's breakdown; a heuristic, good to a few MiB, not an accounting):
 *
 *   - file: mapped files, mostly the node binary's code (shared with every node process);
 *   - v8: anonymous mappings of exactly 256 KiB, V8's heap pages on x64 (every isolate: the
 *     main thread's and each worker thread's), plus larger ones V8 reserves for big objects
 *     are counted in `other`;
 *   - arenas: glibc's thread arenas, anonymous mappings starting on a 64 MiB boundary (malloc
 *     of the threads that are not the main one: Buffers' backing stores, libuv, OpenSSL, …);
 *   - brk: the main arena ([heap]);
 *   - other: the rest (thread stacks, large V8 objects, code ranges, …).
 */
import { readFileSync } from 'node:fs'

export interface MemoryMap {
  readonly fileMiB: number
  readonly v8MiB: number
  readonly arenasMiB: number
  readonly brkMiB: number
  readonly otherMiB: number
}

const ARENA_ALIGN = 64 * 1024 * 1024

export function memoryMap (pid: number): MemoryMap {
  const kib = { file: 0, v8: 0, arenas: 0, brk: 0, other: 0 }
  let kind: keyof typeof kib = 'other'
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line)
    if (head !== null) {
      const start = Number.parseInt(head[1]!, 16)
      const size = Number.parseInt(head[2]!, 16) - start
      const name = head[3]!
      kind = name.startsWith('/') ? 'file'
        : name === '[heap]' ? 'brk'
          : name !== '' ? 'other'
            : size === 256 * 1024 ? 'v8'
              : start % ARENA_ALIGN === 0 && size <= ARENA_ALIGN ? 'arenas'
                : 'other'
    } else if (line.startsWith('Rss:')) {
      kib[kind] += Number(line.split(/\s+/)[1])
    }
  }
  const mib = (v: number): number => Math.round(v / 102.4) / 10
  return { fileMiB: mib(kib.file), v8MiB: mib(kib.v8), arenasMiB: mib(kib.arenas), brkMiB: mib(kib.brk), otherMiB: mib(kib.other) }
}
