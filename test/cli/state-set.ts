/**
 * Test helper: a complete config set (2 mixes + exit + client) in a directory, as
 * `mixgate up --state-dir` writes it, made in this process (lab/cascade-set.ts): keygen,
 * each hop's signed descriptor from its key dir, the signed cascade, the configs.
 */
import { writeCascadeSet } from '../../lab/cascade-set.js'
import { DEFAULT_SHAPING } from '../../src/protocol/shaping.js'

export const PARAMS = { cellSize: 2048, roundMs: 10, epochS: 3600, genesis: 0, shaping: DEFAULT_SHAPING.off }

/** Write the set into `dir` (empty or new); hop ports 40001…, admin ports 41001…. */
export async function writeTestSet (dir: string, options: { mixes?: number, nowS?: number } = {}): Promise<void> {
  const hopCount = (options.mixes ?? 2) + 1
  await writeCascadeSet(dir, {
    hops: Array.from({ length: hopCount }, (_, i) => ({
      address: { host: '127.0.0.1', port: 40001 + i },
      admin: { host: '127.0.0.1', port: 41001 + i },
    })),
    params: PARAMS,
    exitPolicy: ['accept 127.0.0.1:*'],
    socks: { host: '127.0.0.1', port: 1080 },
    clientAdmin: { host: '127.0.0.1', port: 41000 },
    ...(options.nowS === undefined ? {} : { nowS: options.nowS }),
  })
}
