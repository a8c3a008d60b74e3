/**
 * Reading the signed cascade descriptor a config names, for a hop or a client, with errors
 * that name the config field (`cascade`).
 *
 * A hop needs from the cascade what does not expire: the other hops' addresses and link
 * keys, the parameters, the ID. So a hop accepts a cascade whose validity has ended (every
 * signature is still checked, as of its last valid second) and says so in a warning: clients
 * need a current one, from the entry's `/cascade` or a rebuilt file. A client needs current
 * onion keys: it accepts an expired file only as the trust anchor for a `cascadeUrl`.
 */
import { readFile } from 'node:fs/promises'
import { DescriptorError, DescriptorErrorCode } from '../../directory/descriptor-error.js'
import { parseDescriptorBytes } from '../../directory/descriptor-json.js'
import { verifyCascadeDescriptor, type VerifiedCascade } from '../../directory/signed-cascade.js'
import { fieldError } from './key-dir.js'

export interface CascadeFileCheck {
  readonly verified: VerifiedCascade
  /** The cascade's validity (or every key in it) has ended: verified as of its last valid second. */
  readonly stale: boolean
}

/** Read and verify the signed cascade at `path` (named by `configFile`'s `cascade` field). */
export async function readCascadeFile (configFile: string, path: string, options: { allowStale: boolean, nowS?: number }): Promise<CascadeFileCheck> {
  let bytes
  try {
    bytes = await readFile(path)
  } catch (err) {
    const code = (err as { code?: unknown }).code
    const why = code === 'ENOENT' ? 'no such file or directory (ENOENT)' : code === 'EISDIR' ? 'it is a directory (EISDIR)' : String(code)
    throw fieldError(configFile, 'cascade', `cannot read cascade descriptor ${JSON.stringify(path)}: ${why}`, err)
  }
  const nowS = options.nowS ?? Date.now() / 1000
  try {
    const json = parseDescriptorBytes(bytes)
    try {
      return { verified: verifyCascadeDescriptor(json, { now: nowS }), stale: false }
    } catch (err) {
      if (!options.allowStale || !(err instanceof DescriptorError) || !isStale(err)) throw err
      const until = (json as { validUntil?: unknown }).validUntil
      return { verified: verifyCascadeDescriptor(json, { now: typeof until === 'number' ? until - 1 : nowS }), stale: true }
    }
  } catch (err) {
    if (err instanceof DescriptorError) throw fieldError(configFile, 'cascade', `cascade descriptor ${JSON.stringify(path)}: ${err.message}`, err)
    throw err
  }
}

function isStale (err: DescriptorError): boolean {
  return err.code === DescriptorErrorCode.EXPIRED || err.code === DescriptorErrorCode.EPOCH_KEY_EXPIRED
}
