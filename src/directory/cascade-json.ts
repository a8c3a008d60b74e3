/**
 * The older unsigned cascade file (JSON, keys in hex), kept for hand-made and test cascades:
 * its schema, reading (`cascadeFromJson`) and writing (`cascadeToJson`). Apart from cascade.ts
 * so that what runs a hop does not load the schema library.
 */
import { formatHostPort } from '../base/address.js'
import { arr, ConfigError, hex, hostPort, int, obj, oneOf, validate, type ConfigIssue, type Infer } from '../base/schema.js'
import { makeCascade, type Cascade } from './cascade.js'
import { cascadeParamFieldsWithDefaults, cascadeParamsToJson, type CascadeParamsJson } from './cascade-params-json.js'

export const CASCADE_FILE_VERSION = 1

/** The JSON form of a cascade file: keys in hex. A hop gives `onionKey` (for `epoch`), `onionKeys`, or both. */
export const cascadeFileSpec = obj({
  version: oneOf([CASCADE_FILE_VERSION] as const),
  ...fileParamFields(),
  /** The epoch a hop's single `onionKey` belongs to. */
  epoch: int({ min: 0, default: 0 }),
  hops: arr(obj({
    role: oneOf(['mix', 'exit'] as const),
    address: hostPort(),
    linkKey: hex(32),
    onionKey: hex(32),
    onionKeys: arr(obj({ epoch: int({ min: 0 }), onionKey: hex(32) }), { minLength: 1, maxLength: 4 }),
  }, { optional: ['onionKey', 'onionKeys'] }), { minLength: 1, maxLength: 8 }),
})

/** A cascade file as written to disk (the input form of `cascadeFileSpec`); it carries no shaping (always off). */
export interface CascadeJson extends Omit<CascadeParamsJson, 'shaping'> {
  readonly version: typeof CASCADE_FILE_VERSION
  readonly hops: ReadonlyArray<{
    readonly role: 'mix' | 'exit'
    readonly address: string
    readonly linkKey: string
    readonly onionKeys: ReadonlyArray<{ readonly epoch: number, readonly onionKey: string }>
  }>
}

export type CascadeFile = Infer<typeof cascadeFileSpec>

/** The parameter fields of the unsigned file: the config defaults, and no shaping (always off). */
function fileParamFields () {
  const { cellSize, roundMs, epochS, genesis } = cascadeParamFieldsWithDefaults()
  return { cellSize, roundMs, epochS, genesis }
}

/** Validate a parsed cascade file (field errors name the field) and build the cascade. */
export function cascadeFromJson (json: unknown): Cascade {
  const file = validate(cascadeFileSpec, json)
  // What makeCascade treats as a caller's mistake (a TypeError) is the file's here: say so
  // as a ConfigError naming the field (the fuzzer found both as TypeErrors).
  const issues: ConfigIssue[] = []
  file.hops.forEach((hop, i) => {
    const expected = i === file.hops.length - 1 ? 'exit' : 'mix'
    if (hop.role !== expected) {
      issues.push({ path: `hops[${i}].role`, message: `config field "hops[${i}].role": must be "${expected}" (the mixes in order, then the exit, last), got "${hop.role}"` })
    }
    if (hop.onionKey === undefined && hop.onionKeys === undefined) {
      issues.push({ path: `hops[${i}]`, message: `config field "hops[${i}]": needs "onionKey" or "onionKeys"` })
    }
  })
  if (issues.length > 0) throw ConfigError.fromIssues(issues)
  return makeCascade(file)
}

export function cascadeToJson (cascade: Cascade): CascadeJson {
  const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex')
  // The unsigned file has no shaping (it is always off there).
  const { shaping: _, ...params } = cascadeParamsToJson(cascade.params)
  return {
    version: CASCADE_FILE_VERSION,
    ...params,
    hops: cascade.hops.map((hop) => ({
      role: hop.role,
      address: formatHostPort(hop.address),
      linkKey: hexOf(hop.linkKey),
      onionKeys: [...hop.onionKeys].sort(([a], [b]) => a - b).map(([epoch, key]) => ({ epoch, onionKey: hexOf(key) })),
    })),
  }
}
