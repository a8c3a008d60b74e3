/**
 * This process's open-file limit (RLIMIT_NOFILE), for bounds that must stay below it. Node
 * has no getrlimit, so on Linux it is read from /proc/self/limits ("Max open files"); where
 * that file is missing or says "unlimited", the answer is undefined and the caller picks a
 * fixed default. Node raises its soft limit to the hard one at start, so the soft limit read
 * here is the one the process runs with.
 */
import { readFileSync } from 'node:fs'

const MAX_OPEN_FILES = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)\s+files\s*$/m

/** The soft "Max open files" of a /proc/PID/limits text; undefined if absent or unlimited. */
export function parseOpenFileLimit (limitsText: string): number | undefined {
  const match = MAX_OPEN_FILES.exec(limitsText)
  if (match === null || match[1] === 'unlimited') return undefined
  const soft = Number(match[1])
  return Number.isSafeInteger(soft) && soft > 0 ? soft : undefined
}

/** The soft open-file limit of this process, or undefined where it cannot be read. */
export function openFileLimit (limitsFile = '/proc/self/limits'): number | undefined {
  let text: string
  try {
    text = readFileSync(limitsFile, 'utf8')
  } catch {
    return undefined
  }
  return parseOpenFileLimit(text)
}
