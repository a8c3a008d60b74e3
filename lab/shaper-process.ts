/**
 * The link shaper as a process of its own, started by the lab inside the wire namespace
 * (netns.ts) with an IPC channel: argv[2] is the JSON list of links to relay
 * ([{ listen: {host, port}, target: {host, port} }, …]). It answers `{ ready: true }` once
 * every link listens, then requests { id, link, change } (a Partial<LinkSettings>) with
 * { id, settings }. It exits as soon as its channel closes, so it never outlives the lab.
 */
import { startShapedLink, type LinkSettings, type ShapedLink } from './link-shaper.js'

export interface ShaperLinkSpec {
  readonly listen: { host: string, port: number }
  readonly target: { host: string, port: number }
}

export interface ShaperRequest {
  readonly id: number
  readonly link: number
  readonly change: Partial<LinkSettings>
}

export interface ShaperReply {
  readonly id?: number
  readonly ready?: boolean
  readonly settings?: LinkSettings
  readonly error?: string
}

if (process.send === undefined) {
  process.stderr.write('shaper-process: started by the lab (lab/shaper.ts), not by hand\n')
  process.exit(2)
}
const send = (reply: ShaperReply): void => { if (process.connected) process.send!(reply) }
process.once('disconnect', () => process.exit(0))

const specs = JSON.parse(process.argv[2] ?? '[]') as ShaperLinkSpec[]
const links: ShapedLink[] = []
try {
  for (const spec of specs) links.push(await startShapedLink(spec.listen, spec.target))
  send({ ready: true })
} catch (err) {
  send({ error: (err as Error).message })
  process.exit(1)
}
process.on('message', (request: ShaperRequest) => {
  const link = links[request.link]
  if (link === undefined) { send({ id: request.id, error: `no link ${request.link}` }); return }
  link.set(request.change)
  send({ id: request.id, settings: link.settings() })
})
