/**
 * Test helper: give this test file more time than .taprc's per-file `timeout`. Two clocks
 * stop a file, and both must hear it: the file's own root test (t.setTimeout) and the tap
 * runner that spawned it, which reads a top-level "# timeout=MS" comment from the file's
 * output (the IPC message t.setTimeout also sends does not reach tap 21's runner).
 */
import type { Test } from 'tap'

export function allowFileTime (t: Test, ms: number): void {
  t.setTimeout(ms)
  t.comment(`timeout=${ms}`)
}
