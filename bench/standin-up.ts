/**
 * A stand-in for `mixgate up`, used by the bench only while the CLI has no `up` command
 * (`--cascade standin`, or automatically when dist/src/cli/main.js is missing). Same
 * contract as the real command: `up --mixes N --socks HOST:PORT --exit-policy RULE` starts N
 * mixes, an exit and a client in this one process with fresh keys, prints
 * `mixgate: SOCKS5 proxy listening on HOST:PORT (N mixes + exit)` as its first stdout line,
 * and stops on SIGINT. Built from the same src/ pieces `up` composes (runMix, runExit,
 * runClient), so the numbers measure the same code; the bench labels which one it ran.
 */
import { parseArgs } from 'node:util'
import { cryptoReady, x25519KeyPair } from '../src/crypto/index.js'
import { makeCascade } from '../src/directory/cascade.js'
import { runClient, type RunningClient } from '../src/client/run-client.js'
import { runExit, type RunningExit } from '../src/exit/run-exit.js'
import { runMix, type RunningMix } from '../src/mix/run-mix.js'
import { parseHostPort } from '../src/node/address.js'
import { createLogger } from '../src/node/logger.js'
import { freePort } from './free-port.js'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    mixes: { type: 'string', default: '3' },
    socks: { type: 'string', default: '127.0.0.1:1080' },
    'exit-policy': { type: 'string', multiple: true, default: [] },
  },
})
if (positionals[0] !== 'up') throw new Error('standin-up: only the `up` command is provided')
const mixCount = Number(values.mixes)
const socks = parseHostPort(values.socks!)

await cryptoReady()
const logger = createLogger({ role: 'up', level: 'warn' })
const keys = Array.from({ length: mixCount + 1 }, () => ({ link: x25519KeyPair(), onion: x25519KeyPair() }))
const ports = await Promise.all(keys.map(() => freePort()))
const cascade = makeCascade({
  cellSize: 2048,
  roundMs: 10,
  epoch: 1,
  hops: keys.map((k, i) => ({
    role: i === mixCount ? 'exit' as const : 'mix' as const,
    address: { host: '127.0.0.1', port: ports[i]! },
    linkKey: k.link.publicKey,
    onionKey: k.onion.publicKey,
  })),
})
const exit: RunningExit = await runExit({
  cascade,
  linkKey: keys[mixCount]!.link,
  onionKey: keys[mixCount]!.onion,
  logger: logger.child('exit'),
  exitPolicy: values['exit-policy']!,
  dnsServers: ['127.0.0.1:53'],
})
const mixes: RunningMix[] = []
for (let i = mixCount - 1; i >= 0; i--) {
  const mix = await runMix({ cascade, position: i + 1, linkKey: keys[i]!.link, onionKey: keys[i]!.onion, logger: logger.child(`mix${i + 1}`) })
  mixes.unshift(mix)
  const deadline = Date.now() + 10_000
  while (!mix.node.successorUp) {
    if (Date.now() > deadline) throw new Error('standin-up: a mix did not reach its successor')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
const client: RunningClient = await runClient({ cascade, logger: logger.child('client'), socks })
await client.node.waitForEntry()
console.log(`mixgate: SOCKS5 proxy listening on ${client.socks.host}:${client.socks.port} (${mixCount} mixes + exit)`)

let stopping = false
process.on('SIGINT', () => {
  if (stopping) return
  stopping = true
  void (async () => {
    await client.stop()
    for (const mix of mixes) await mix.stop()
    await exit.stop()
    process.exit(0)
  })()
})
