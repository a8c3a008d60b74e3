/** A link CipherState with its key set, as after a handshake: for tests, fuzz targets and benches of the batch codec. */
import { CipherState } from '../../src/link/noise/cipher-state.js'

export function keyed (key: Uint8Array): CipherState {
  const state = new CipherState()
  state.initializeKey(key)
  return state
}
