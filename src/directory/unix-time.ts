/**
 * Unix times as messages show them. Apart from descriptor.ts so that a hop's start can word
 * its warnings without loading the descriptor schemas (issue #17).
 */

/** `1700000000` → `2023-11-14T22:13:20Z`. */
export function iso (unixS: number): string {
  return new Date(unixS * 1000).toISOString().replace('.000Z', 'Z')
}
