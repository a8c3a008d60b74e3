/**
 * A cascade across network namespaces, each node a separate `mixgate` process started from
 * its own config, as an operator runs them on separate hosts:
 *
 *   ns h0: curl ─SOCKS─▶ mixgate client ──┐
 *   ns wire:                               link shaper (one relay per hop's address)
 *   ns h1…hn: mixgate mix --config mixK.json
 *   ns h(n+1): mixgate exit --config exit.json ─▶ HTTP origin (127.0.0.1 there)
 *
 * Every link between two hosts crosses the wire namespace through the shaper (link-shaper.ts),
 * whose settings the lab changes while traffic flows; netns.ts can also cut a host off at the
 * kernel. The configs come from cascade-set.ts: hop k publishes 10.77.k.1:7000+k (the wire,
 * where the shaper listens) and listens on 10.77.k.2:7000+k (its own address); its publish
 * listener (/descriptor, and /cascade at the entry, for the entry and the client to fetch
 * fresh onion keys) is 10.77.k.2:8000+k, reached through an unshaped relay at 10.77.k.1; its
 * admin port is on its namespace's loopback, read with curl run inside it.
 *
 * `stop()` ends every process (SIGTERM, then SIGKILL), deletes the namespaces and the state
 * dir; a lab that dies some other way still deletes its namespaces on exit (netns.ts).
 */
import { spawn, execFile, execFileSync, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { BIN, startCli, type CliProcess } from '../test/cli/spawn-cli.js'
import type { ShapingProfile } from '../src/protocol/shaping.js'
import { DEFAULT_SHAPING } from '../src/protocol/shaping.js'
import { launcherSettings } from '../bench/launcher-settings.js'
import { writeCascadeSet } from './cascade-set.js'
import type { LinkSettings } from './link-shaper.js'
import { atLabExit, createLabNet, hasNetem, type LabHost, type LabNet } from './netns.js'
import type { ShaperLinkSpec, ShaperReply, ShaperRequest } from './shaper-process.js'

export interface NetnsCascadeOptions {
  readonly mixes: number
  readonly shaping: ShapingProfile
  readonly roundMs?: number
  /** Onion-key epoch in seconds (default 3600). */
  readonly epochS?: number
  /** Sizes of the origin's bodies the lab will fetch (their SHA-256 are known). */
  readonly sizes: readonly number[]
  /** The links' settings from the start (every link). */
  readonly link?: Partial<LinkSettings>
  /** Put this hop's key dir (its onion seed and replay tag logs) on a tmpfs of `bytes`, so the lab can fill it. */
  readonly smallKeyDir?: { readonly position: number, readonly bytes: number }
  /** More fields of a hop's config, by position (1 = entry). */
  readonly hopFields?: Readonly<Record<number, Record<string, unknown>>>
  /** The client's streamTimeoutMs (how long a stream waits for the exit's answer; default the shipped 30000). */
  readonly streamTimeoutMs?: number
  /**
   * net.ipv4.tcp_retries2 in every namespace (the kernel's default 15 gives up on unanswered
   * data after about 15 minutes; 5, after about 12.6 s at the 200 ms minimum timeout).
   */
  readonly tcpRetries2?: number
  /** Clients beyond the first, each its own process in the client's namespace (SOCKS 1081…, admin 9201…). */
  readonly moreClients?: number
}

export interface Fetched {
  readonly ok: boolean
  /** Bytes delivered (0 when curl failed before any byte). */
  readonly bytes: number
  /** Whether a complete body arrived with the expected SHA-256 (false for a failed fetch). */
  readonly intact: boolean
  /** A body of the expected length with another hash: corruption. */
  readonly corrupt: boolean
  readonly ms: number
  readonly error?: string
}

export interface NetnsCascade {
  readonly net: LabNet
  readonly hops: number
  /** Whether delay, jitter and rate are the kernel's (netem) rather than the relay's. */
  readonly netem: boolean
  /**
   * GET /bytes/<size> with curl through the client's SOCKS port, in the client's namespace.
   * With `isolation`, it is the SOCKS5 user name: a name not used before gets a new circuit.
   */
  fetch (size: number, timeoutS?: number, isolation?: string, client?: number): Promise<Fetched>
  /** How many clients (1 + moreClients); `fetch`'s `client` is 0… this − 1. */
  readonly clients: number
  /** What client c (0…) has written to stderr. */
  clientLog (client: number): string
  /** A node's exit status once it has ended (code or signal), undefined while it runs. */
  exitStatus (index: number): number | string | undefined
  /**
   * Change link k's shaping (k = 1…hops). In the relay, link k is the TCP hop into hop k. Under
   * netem, delay, jitter and rate apply to host k's veth instead, half at each end, so that with
   * the same settings on every host each hop-to-hop path gets them whole.
   */
  shape (link: number, change: Partial<LinkSettings>): Promise<LinkSettings>
  /** SIGKILL hop `position` (1 = entry). */
  kill (position: number): Promise<void>
  /** Send `signal` to a node (0 the client, 1… hops). */
  signal (index: number, signal: NodeJS.Signals): void
  /** Fill the small key dir (`smallKeyDir`) to the last byte, or free it again. */
  fillKeyDir (full: boolean): Promise<void>
  /** SIGTERM hop `position` and wait for its exit (a clean stop: it keeps its keys). */
  stopNode (position: number): Promise<void>
  /** Start hop `position` again from its config, its wall clock `skewMs` off; resolves when it logged its start. */
  restart (position: number, skewMs?: number): Promise<void>
  /** What a node process has written to stderr (its log): 0 client, 1… hops. */
  log (index: number): string
  /** The node's /metrics text (0 client, 1… hops). */
  metrics (index: number): Promise<string>
  stop (): Promise<void>
}

const run = promisify(execFile)
const SHAPER_SCRIPT = fileURLToPath(new URL('./shaper-process.js', import.meta.url))
const SKEW_URL = new URL('./skewed-clock.js', import.meta.url).href
const ORIGIN_SCRIPT = fileURLToPath(new URL('./origin-process.js', import.meta.url))
const hopPort = (k: number): number => 7000 + k
const adminPort = (k: number): number => 9100 + k
const publishPort = (k: number): number => 8000 + k
const nodeName = (position: number, hops: number): string => position === hops ? 'exit' : `mix${position}`

export async function startNetnsCascade (options: NetnsCascadeOptions): Promise<NetnsCascade> {
  const hops = options.mixes + 1
  const teardowns: Array<() => unknown> = []
  const collector = { teardown: (fn: () => unknown) => { teardowns.push(fn) } }
  const stop = async (): Promise<void> => {
    for (const fn of teardowns.splice(0).reverse()) {
      try { await fn() } catch { /* keep tearing down */ }
    }
  }
  try {
    const net = await createLabNet(hops + 1)
    teardowns.push(() => net.close())
    if (options.tcpRetries2 !== undefined) {
      for (const ns of [net.wire, ...net.hosts.map((h) => h.ns)]) await run('ip', net.exec(ns, ['sysctl', '-q', '-w', `net.ipv4.tcp_retries2=${options.tcpRetries2}`]))
    }
    const dir = mkdtempSync(join(tmpdir(), 'mixgate-lab-'))
    const roundMs = options.roundMs ?? 10
    const small = options.smallKeyDir
    const smallDir = small === undefined ? undefined : join(dir, nodeName(small.position, hops))
    const unmount = (): void => {
      if (smallDir !== undefined) try { execFileSync('umount', ['-l', smallDir], { stdio: 'ignore' }) } catch { /* not mounted */ }
    }
    const removeDir = (): void => {
      unmount()
      try { rmSync(dir, { recursive: true, force: true }) } catch { /* best effort */ }
    }
    // Also when the process ends early, on exit or a signal (netns.ts).
    const forget = atLabExit(removeDir)
    teardowns.push(() => { forget(); removeDir() })
    if (small !== undefined && smallDir !== undefined) {
      mkdirSync(smallDir, { mode: 0o700 })
      await run('mount', ['-t', 'tmpfs', '-o', `size=${small.bytes},mode=0700`, 'tmpfs', smallDir])
      teardowns.push(unmount)
    }
    await writeCascadeSet(dir, {
      hops: net.hosts.slice(1).map((h) => ({
        address: { host: h.wireAddress, port: hopPort(h.index) },
        listen: { host: h.address, port: hopPort(h.index) },
        admin: { host: '127.0.0.1', port: adminPort(h.index) },
        publish: { listen: { host: h.address, port: publishPort(h.index) }, url: `http://${h.wireAddress}:${publishPort(h.index)}` },
      })),
      params: { cellSize: 2048, roundMs, epochS: options.epochS ?? 3600, genesis: 0, shaping: DEFAULT_SHAPING[options.shaping] },
      exitPolicy: ['accept 127.0.0.1:*'],
      socks: { host: '127.0.0.1', port: 1080 },
      clientAdmin: { host: '127.0.0.1', port: adminPort(0) },
      ...(options.hopFields === undefined ? {} : { hopFields: options.hopFields }),
      ...(options.streamTimeoutMs === undefined ? {} : { client: { streamTimeoutMs: options.streamTimeoutMs } }),
    })

    // The shaper: one relay per hop, from the hop's published address to where it listens
    // (links 0…hops-1), then one per publish listener (never shaped).
    const relay = (h: LabHost, port: number): ShaperLinkSpec => ({ listen: { host: h.wireAddress, port }, target: { host: h.address, port } })
    const specs: ShaperLinkSpec[] = [
      ...net.hosts.slice(1).map((h) => relay(h, hopPort(h.index))),
      ...net.hosts.slice(1).map((h) => relay(h, publishPort(h.index))),
    ]
    const shaper = await startShaper(net, specs)
    teardowns.push(() => shaper.close())
    // Where the kernel has netem, delay, jitter and rate go to it (netemShape); stalls and cuts
    // stay with the relay, which netem cannot do.
    const netem = await hasNetem(net.wire, 'h1')
    const netemSettings = new Map<number, Partial<LinkSettings>>()
    const shape = async (link: number, change: Partial<LinkSettings>): Promise<LinkSettings> => {
      const { delayMs, jitterMs, rateBps, ...relayChange } = change
      if (!netem) return (await shaper.call({ link: link - 1, change })).settings!
      const wanted = { ...netemSettings.get(link), ...(delayMs === undefined ? {} : { delayMs }), ...(jitterMs === undefined ? {} : { jitterMs }), ...(rateBps === undefined ? {} : { rateBps }) }
      netemSettings.set(link, wanted)
      await netemShape(net, link, wanted)
      const relay = (await shaper.call({ link: link - 1, change: relayChange })).settings!
      return { ...relay, delayMs: wanted.delayMs ?? 0, jitterMs: wanted.jitterMs ?? 0, rateBps: wanted.rateBps ?? 0 }
    }
    if (options.link !== undefined) {
      for (let k = 1; k <= hops; k++) await shape(k, options.link)
      // The client's own link: under netem every host's link has its half of the delay.
      if (netem) await netemShape(net, 0, options.link)
    }

    const inNs = (k: number, argv: readonly string[]): string[] => net.exec(net.hosts[k]!.ns, argv)
    const origin = startCli(collector, inNs(hops, [process.execPath, ORIGIN_SCRIPT, ...options.sizes.map(String)]), { command: 'ip' })
    const originInfo = JSON.parse((await origin.waitForStdout(/^.*\n/))[0]) as { port: number, sha256: Record<string, string> }

    const nodes: CliProcess[] = []
    const startNode = async (position: number, skewMs = 0): Promise<void> => {
      const name = nodeName(position, hops)
      const role = position === hops ? 'exit' : 'mix'
      const skew: Record<string, string> = skewMs === 0 ? {} : { MIXGATE_LAB_CLOCK_SKEW_MS: String(skewMs) }
      const node = startCli(collector, inNs(position, [...mixgateNode(skew, skewMs === 0 ? [] : ['--import', SKEW_URL]), BIN, role, '--config', join(dir, `${name}.json`)]), { command: 'ip' })
      nodes[position] = node
      await node.waitForStderr(role === 'exit' ? /node\.started role=exit/ : /node\.started role=mix/, 30_000)
    }
    for (let position = hops; position >= 1; position--) await startNode(position)
    const client = startCli(collector, inNs(0, [...mixgateNode(), BIN, 'client', '--config', join(dir, 'client.json')]), { command: 'ip', cwd: dir })
    nodes[0] = client
    await client.waitForStderr(/entry\.connected/, 30_000)
    const clients = [client]
    for (let c = 1; c <= (options.moreClients ?? 0); c++) {
      const config = JSON.parse(readFileSync(join(dir, 'client.json'), 'utf8')) as Record<string, unknown>
      writeFileSync(join(dir, `client${c}.json`), JSON.stringify({ ...config, socks: `127.0.0.1:${1080 + c}`, admin: `127.0.0.1:${9200 + c}` }, null, 2))
      const more = startCli(collector, inNs(0, [...mixgateNode(), BIN, 'client', '--config', join(dir, `client${c}.json`)]), { command: 'ip', cwd: dir })
      clients.push(more)
      await more.waitForStderr(/entry\.connected/, 30_000)
    }

    const clientNs = net.hosts[0]!.ns
    return {
      net,
      hops,
      clients: clients.length,
      clientLog: (c) => clients[c]?.stderr() ?? '',
      exitStatus (index) {
        const child = nodes[index]?.child
        return child?.exitCode ?? child?.signalCode ?? undefined
      },
      async fetch (size, timeoutS = 30, isolation, c = 0) {
        const expected = originInfo.sha256[String(size)]
        const started = performance.now()
        const socks = `127.0.0.1:${1080 + c}`
        const proxy = isolation === undefined ? ['--socks5-hostname', socks] : ['--proxy', `socks5h://${encodeURIComponent(isolation)}:x@${socks}`]
        const got = await runIn(clientNs, ['curl', '-sS', '--fail', '--max-time', String(timeoutS), ...proxy,
          `http://127.0.0.1:${originInfo.port}/bytes/${size}`])
        const ms = performance.now() - started
        const intact = got.code === 0 && got.stdout.length === size && createHash('sha256').update(got.stdout).digest('hex') === expected
        const corrupt = got.stdout.length === size && !intact
        return { ok: got.code === 0, bytes: got.stdout.length, intact, corrupt, ms, ...(got.code === 0 ? {} : { error: got.stderr.trim() }) }
      },
      netem,
      shape,
      async kill (position) {
        const node = nodes[position]!
        node.child.kill('SIGKILL')
        await node.exited
      },
      signal (index, signal) {
        nodes[index]?.child.kill(signal)
      },
      async fillKeyDir (full) {
        if (smallDir === undefined) throw new Error('no smallKeyDir in this lab')
        const fill = join(smallDir, 'lab-fill')
        if (full) await run('dd', ['if=/dev/zero', `of=${fill}`, 'bs=4k']).catch(() => {}) // ends with ENOSPC
        else rmSync(fill, { force: true })
      },
      async stopNode (position) {
        await nodes[position]!.stop('SIGTERM', 15_000)
      },
      restart: async (position, skewMs) => await startNode(position, skewMs),
      log: (index) => nodes[index]?.stderr() ?? '',
      async metrics (index) {
        const got = await runIn(net.hosts[index]!.ns, ['curl', '-sS', '--fail', '--max-time', '5', `http://127.0.0.1:${adminPort(index)}/metrics`])
        return got.stdout.toString('utf8')
      },
      async stop () {
        // Gracefully first (the client, then entry to exit), so no node logs its peers' deaths as faults.
        for (const node of [...clients.slice(1), ...nodes].filter((n) => n !== undefined)) await node.stop('SIGTERM').catch(() => {})
        await origin.stop('SIGTERM').catch(() => {})
        await stop()
      },
    }
  } catch (err) {
    await stop()
    throw err
  }
}

/**
 * netem on both ends of host k's veth (the wire's hk and the host's eth0), each with half the
 * one-way delay and jitter, so a packet crossing two hosts' links gets the whole of each.
 * Never run on the machine this was written on (no netem there): its arguments were checked
 * with tc's own parser only.
 */
async function netemShape (net: LabNet, k: number, settings: Partial<LinkSettings>): Promise<void> {
  const args = ['netem', 'delay', `${(settings.delayMs ?? 0) / 2}ms`, `${(settings.jitterMs ?? 0) / 2}ms`,
    ...(settings.rateBps === undefined || settings.rateBps === 0 ? [] : ['rate', `${settings.rateBps * 8}bit`])]
  for (const [ns, dev] of [[net.wire, `h${k}`], [net.hosts[k]!.ns, 'eth0']] as const) {
    await run('ip', net.exec(ns, ['tc', 'qdisc', 'replace', 'dev', dev, 'root', ...args]))
  }
}

async function runIn (ns: string, argv: readonly string[]): Promise<{ code: number, stdout: Buffer, stderr: string }> {
  return await new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', ns, ...argv], { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1
      resolve({ code, stdout, stderr: stderr.toString('utf8') })
    })
  })
}

interface Shaper {
  call (request: Omit<ShaperRequest, 'id'>): Promise<ShaperReply>
  close (): Promise<void>
}

async function startShaper (net: LabNet, specs: ShaperLinkSpec[]): Promise<Shaper> {
  const child: ChildProcess = spawn('ip', net.exec(net.wire, [process.execPath, SHAPER_SCRIPT, JSON.stringify(specs)]),
    { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const pending = new Map<number, (reply: ShaperReply) => void>()
  let nextId = 0
  await new Promise<void>((resolve, reject) => {
    child.on('message', (reply: ShaperReply) => {
      if (reply.ready === true) resolve()
      else if (reply.id === undefined) reject(new Error(`link shaper: ${reply.error ?? 'no start'}`))
      else { pending.get(reply.id)?.(reply); pending.delete(reply.id) }
    })
    void exited.then(() => reject(new Error('link shaper exited before it was ready')))
  })
  return {
    call: async (request) => await new Promise<ShaperReply>((resolve, reject) => {
      const id = nextId++
      pending.set(id, (reply) => reply.error === undefined ? resolve(reply) : reject(new Error(reply.error)))
      child.send({ ...request, id })
    }),
    async close () {
      if (child.exitCode !== null || child.signalCode !== null) return
      if (child.connected) child.disconnect()
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
      await exited
      clearTimeout(timer)
    },
  }
}

/**
 * The command that starts node for a mixgate node, with bin/mixgate's #! settings (its
 * environment and node flags, as the systemd units run it) and the run's own `env` and `flags`.
 */
function mixgateNode (env: Readonly<Record<string, string>> = {}, flags: readonly string[] = []): string[] {
  const launcher = launcherSettings(BIN)
  const pairs = Object.entries({ ...launcher.env, ...env }).map(([name, value]) => `${name}=${value}`)
  return ['env', ...pairs, process.execPath, ...launcher.nodeFlags, ...flags]
}
