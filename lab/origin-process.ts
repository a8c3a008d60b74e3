/**
 * The lab's HTTP origin as a process of its own, started in the exit's namespace: the bench's
 * origin (bench/origin.ts: `/bytes/<n>` serves the first n bytes of one random body) on
 * 127.0.0.1 there. Its one stdout line is JSON: the port, and the SHA-256 of `/bytes/<n>` for
 * every n given as an argument, which the lab checks each download against. Ends on SIGTERM
 * or when its parent closes its stdin.
 */
import { createHash } from 'node:crypto'
import { startOrigin } from '../bench/origin.js'

const sizes = process.argv.slice(2).map(Number)
const origin = await startOrigin(Math.max(...sizes))
const sha256 = Object.fromEntries(sizes.map((n) => [n, createHash('sha256').update(origin.body.subarray(0, n)).digest('hex')]))
process.stdout.write(JSON.stringify({ port: origin.port, sha256 }) + '\n')
const stop = (): void => { void origin.close().finally(() => process.exit(0)) }
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
