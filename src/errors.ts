/**
 * The root of every error mixgate throws on purpose.
 *
 * Each error carries a stable, machine-readable `code` (upper snake case, prefixed by its
 * area: `PROTO_`, `CRYPTO_`, `LINK_`, `CONFIG_` …). Callers branch on `code`, never on the
 * message: messages are for people and may change. Messages never contain keys, client
 * addresses or destinations (DESIGN-REVIEW R19); anything sensitive goes in `detail`, which
 * only debug-level logging prints.
 */
export class MixgateError extends Error {
  readonly code: string
  readonly detail: string | undefined

  constructor (code: string, message: string, options?: { cause?: unknown, detail?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = code
    this.detail = options?.detail
  }
}
