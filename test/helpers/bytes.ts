/** Byte helpers shared by tests, fuzz targets and benches that build or cut wire streams by hand. */

export function concat (parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.length }
  return out
}

/** Cut `bytes` at the given positions (taken modulo length + 1, deduplicated, sorted). */
export function chunked (bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
  const pieces: Uint8Array[] = []
  let start = 0
  for (const p of [...points, bytes.length]) {
    pieces.push(bytes.slice(start, p)) // slice: each piece its own buffer, as from a socket
    start = p
  }
  return pieces
}
