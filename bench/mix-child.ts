/**
 * One mix in a process of its own, for the bench's single-mix load (mix-load.ts): its CPU
 * time, read from /proc, is then the mix's alone. The cascade and the mix's throwaway keys
 * come in MIXGATE_BENCH_MIX (JSON; loopback-only keys made for this one run). Prints
 * `mix: ready` once its successor link is up; on SIGINT prints its aggregate counters as one
 * JSON line and exits.
 */
import { cryptoReady, x25519KeyPair } from '../src/crypto/index.js'
import { cascadeFromJson } from '../src/directory/cascade-json.js'
import { runMix } from '../src/mix/run-mix.js'
import { fixedOnionKey } from './fixed-onion-key.js'
import { createLogger } from '../src/base/logger.js'

interface MixChildConfig {
  readonly cascade: unknown
  readonly position: number
  readonly linkSecret: string
  readonly onionSecret: string
}

const config = JSON.parse(process.env['MIXGATE_BENCH_MIX'] ?? '') as MixChildConfig
await cryptoReady()
const cascade = cascadeFromJson(config.cascade)
const mix = await runMix({
  cascade,
  position: config.position,
  linkKey: x25519KeyPair(Buffer.from(config.linkSecret, 'hex')),
  onionKeys: fixedOnionKey(x25519KeyPair(Buffer.from(config.onionSecret, 'hex')), cascade),
  logger: createLogger({ role: `mix[${config.position}]`, level: 'warn' }),
})
const deadline = Date.now() + 10_000
while (!mix.node.successorUp) {
  if (Date.now() > deadline) throw new Error('mix-child: the successor link did not come up')
  await new Promise((resolve) => setTimeout(resolve, 5))
}
console.log('mix: ready')

process.once('SIGINT', () => {
  console.log(JSON.stringify({ stats: mix.node.stats }))
  void mix.stop().then(() => process.exit(0))
})
