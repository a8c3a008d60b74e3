/**
 * IPv6 addresses as text, one way everywhere (the SOCKS door's hosts, the exit's parsed
 * addresses): RFC 5952's canonical form, as the WHATWG URL serializer writes it.
 */

/** RFC 5952 text of 16 address bytes: lowercase hex, the first longest run (≥ 2) of zero groups as `::`. */
export function formatIPv6 (bytes: Uint8Array): string {
  const groups: number[] = []
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!)
  let bestStart = -1
  let bestLength = 1
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLength) { bestStart = i; bestLength = j - i }
    i = j
  }
  const hex = groups.map((g) => g.toString(16))
  if (bestStart < 0) return hex.join(':')
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`
}
