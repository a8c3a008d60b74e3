/**
 * Reading the cascade file a node config names, with errors that name the file.
 */
import { makeCascade, cascadeFileSpec, type Cascade } from '../directory/cascade.js'
import { loadConfigFile } from '../node/config-file.js'
import { ConfigError } from '../node/config-error.js'

/** The cascade in the JSON file at `path` (ConfigError naming the file and field otherwise). */
export async function loadCascadeFile (path: string): Promise<Cascade> {
  const file = await loadConfigFile(path, cascadeFileSpec)
  try {
    return makeCascade({ cellSize: file.cellSize, roundMs: file.roundMs, epoch: file.epoch, hops: file.hops })
  } catch (err) {
    // makeCascade refuses a hop order it cannot run (the exit must come last) and a cell
    // size too small for the number of hops; both are mistakes in the file.
    const reason = err instanceof Error ? err.message : String(err)
    throw new ConfigError('CONFIG_INVALID', `cascade file ${JSON.stringify(path)} is invalid: ${reason}`, { file: path, cause: err })
  }
}
