/**
 * The canonical bytes that descriptor signatures and the cascade ID cover.
 *
 * A signature never covers JSON text (whose spacing, key order, number and escape forms
 * vary): it covers a byte string rebuilt from the validated values, in a fixed field order,
 * integers big-endian and fixed-width, strings as a 2-byte length then UTF-8, keys raw. Every
 * signed message is domain-separated (R15):
 *
 *   message = "mixgate/v1/" ‖ objectType ‖ 0x00 ‖ body
 *
 * The 0x00 ends the label (labels never contain it), so no two object types can produce the
 * same message. docs/KEYS.md lists each body field by field.
 */
const encoder = new TextEncoder()

/** The byte string `"mixgate/v1/" ‖ objectType ‖ 0x00 ‖ body`. */
export function signedMessage (objectType: string, body: Uint8Array): Uint8Array {
  if (!/^[a-z0-9-]+$/.test(objectType)) throw new TypeError(`bad object type ${JSON.stringify(objectType)}`)
  const label = encoder.encode(`mixgate/v1/${objectType}`)
  const out = new Uint8Array(label.length + 1 + body.length)
  out.set(label, 0)
  out[label.length] = 0
  out.set(body, label.length + 1)
  return out
}

/** Appends fixed-width big-endian fields; `bytes()` returns exactly what was written. */
export class ByteWriter {
  private buffer = new Uint8Array(256)
  private view = new DataView(this.buffer.buffer)
  private length = 0

  u8 (value: number): this {
    this.checkInt(value, 0xff)
    this.reserve(1)
    this.view.setUint8(this.length, value)
    this.length += 1
    return this
  }

  u16 (value: number): this {
    this.checkInt(value, 0xffff)
    this.reserve(2)
    this.view.setUint16(this.length, value, false)
    this.length += 2
    return this
  }

  u32 (value: number): this {
    this.checkInt(value, 0xffff_ffff)
    this.reserve(4)
    this.view.setUint32(this.length, value, false)
    this.length += 4
    return this
  }

  u64 (value: number): this {
    this.checkInt(value, Number.MAX_SAFE_INTEGER)
    this.reserve(8)
    this.view.setBigUint64(this.length, BigInt(value), false)
    this.length += 8
    return this
  }

  /** Raw bytes of a length both sides know (keys). */
  raw (bytes: Uint8Array): this {
    this.reserve(bytes.length)
    this.buffer.set(bytes, this.length)
    this.length += bytes.length
    return this
  }

  /** A string: 2-byte length of its UTF-8, then the UTF-8. */
  str (text: string): this {
    const bytes = encoder.encode(text)
    return this.u16(bytes.length).raw(bytes)
  }

  bytes (): Uint8Array {
    return this.buffer.slice(0, this.length)
  }

  private reserve (n: number): void {
    if (this.length + n <= this.buffer.length) return
    const bigger = new Uint8Array(Math.max(this.buffer.length * 2, this.length + n))
    bigger.set(this.buffer.subarray(0, this.length))
    this.buffer = bigger
    this.view = new DataView(bigger.buffer)
  }

  private checkInt (value: number, max: number): void {
    if (!Number.isSafeInteger(value) || value < 0 || value > max) {
      // Values are validated before they are encoded: reaching this is a programming error.
      throw new RangeError(`cannot encode ${value} in a field of at most ${max}`)
    }
  }
}
