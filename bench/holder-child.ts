/**
 * The held-streams phase's echo server in a process of its own (held-streams-phase.ts), so
 * that its sockets count against its own open-file limit, not the bench's, and its memory is
 * read apart. Prints `holder: PORT` when listening; SIGINT closes every socket and exits.
 */
import { startEchoHolder } from './held-streams.js'

const holder = await startEchoHolder()
console.log(`holder: ${holder.port}`)
process.once('SIGINT', () => { void holder.close().then(() => process.exit(0)) })
