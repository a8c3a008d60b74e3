/**
 * The soak (issue #14, item 3): many concurrent streams through `mixgate up` for minutes,
 * sampling what the process holds, to show that nothing grows without bound.
 *
 * Workload, on `mixgate up` or on one process per node (`target`, soak-target.ts; 3 mixes,
 * shaping off unless `--shaping`): `streams` SOCKS5
 * streams to a local echo server, opened in batches and kept open, spread over `circuits`
 * circuits (one SOCKS user name each; the exit allows 256 streams per circuit); every
 * `chatEveryMs`, a tenth of them send 64 bytes and wait for the echo; and one 1 MiB download
 * (SHA-256 checked) runs back to back all along. Every `sampleS` seconds: each process's RSS
 * (anonymous and file pages apart) and open file descriptors (/proc), the client's event-loop
 * delay p99 and circuits (its /metrics). `up` runs every node in one process, so its RSS is
 * the whole cascade's.
 */
import { createHash } from 'node:crypto'
import { execFile } from 'node:child_process'
import { createServer, type Socket } from 'node:net'
import { promisify } from 'node:util'
import { listenLoopback } from '../bench/loopback-server.js'
import { startOrigin } from '../bench/origin.js'
import { socksConnect } from '../anonymity/socks-connect.js'
import { processMemory, startSoakTarget, type ProcessMemory, type SoakTarget, type SoakTargetKind } from './soak-target.js'

export interface SoakOptions {
  readonly streams: number
  readonly circuits: number
  readonly durationS: number
  readonly sampleS: number
  readonly shaping: 'off' | 'strict' | 'elastic'
  /** `up` (default): one process; `separate`: one per node. */
  readonly target?: SoakTargetKind
  /** node's flags for the `up` process. */
  readonly nodeFlags?: readonly string[]
  readonly chatEveryMs?: number
  readonly say?: (line: string) => void
}

export interface SoakSample {
  readonly atS: number
  readonly openStreams: number
  /** The sums over the cascade's processes (file pages counted in each: they are shared). */
  readonly rssMiB: number
  readonly anonMiB: number
  readonly fds: number
  /** CPU seconds the cascade's processes have used since they started. */
  readonly cpuS: number
  /** Each process, by node name (`up` alone for the up target). */
  readonly processes: Record<string, ProcessMemory>
  readonly loopDelayP99Ms: number | undefined
  readonly circuits: number | undefined
  /** The V8 heap of the client's thread (in `up`, the main thread), committed: nodejs_heap_size_total_bytes. */
  readonly clientHeapMiB: number | undefined
}

export interface SoakResult {
  readonly options: Omit<SoakOptions, 'say'>
  /** Before any stream: the cascade idle. */
  readonly idle: SoakSample
  readonly samples: SoakSample[]
  /** (RSS with every stream open − idle RSS) / streams, at the first sample with all open. */
  readonly kibPerStream: number | undefined
  readonly streamsFailedToOpen: number
  readonly streamsLost: number
  readonly chats: { readonly ok: number, readonly failed: number }
  readonly downloads: { readonly intact: number, readonly failed: number, readonly corrupt: number }
}

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

async function clientFigures (admin: string): Promise<{ loopDelayP99Ms: number | undefined, circuits: number | undefined, clientHeapMiB: number | undefined }> {
  try {
    const text = await (await fetch(`${admin}/metrics`)).text()
    const value = (name: string): number | undefined => {
      const line = text.split('\n').find((l) => l.startsWith(`${name} `))
      return line === undefined ? undefined : Number(line.split(' ')[1])
    }
    const lag = value('nodejs_eventloop_lag_p99_seconds')
    const heap = value('nodejs_heap_size_total_bytes')
    return { loopDelayP99Ms: lag === undefined ? undefined : lag * 1000, circuits: value('mixgate_circuits'), clientHeapMiB: heap === undefined ? undefined : heap / 1048576 }
  } catch {
    return { loopDelayP99Ms: undefined, circuits: undefined, clientHeapMiB: undefined }
  }
}

export async function runSoak (options: SoakOptions): Promise<SoakResult> {
  const say = options.say ?? (() => {})
  const echoServer = createServer((socket) => { socket.on('error', () => {}); socket.pipe(socket) })
  const echo = await listenLoopback(echoServer)
  const origin = await startOrigin(1024 * 1024)
  const bodySha = createHash('sha256').update(origin.body).digest('hex')
  const sockets = new Set<Socket>()
  let target: SoakTarget | undefined
  try {
    target = await startSoakTarget(options.target ?? 'up', options.shaping, options.nodeFlags)
    const { socksPort, admin, processes } = target
    const started = performance.now()
    const sample = async (): Promise<SoakSample> => {
      const each = Object.fromEntries(processes.map(({ name, pid }) => [name, processMemory(pid)]))
      const sum = (key: 'rssMiB' | 'anonMiB' | 'fds' | 'cpuS'): number => Object.values(each).reduce((total, m) => total + m[key], 0)
      return {
        atS: (performance.now() - started) / 1000,
        openStreams: sockets.size,
        rssMiB: sum('rssMiB'),
        anonMiB: sum('anonMiB'),
        fds: sum('fds'),
        cpuS: sum('cpuS'),
        processes: each,
        ...await clientFigures(admin),
      }
    }
    await sleep(2000)
    const idle = await sample()
    say(`idle: ${idle.rssMiB.toFixed(1)} MiB (anon ${idle.anonMiB.toFixed(1)}), ${idle.fds} fds`)

    let streamsLost = 0
    let failedToOpen = 0
    let stopping = false
    for (let opened = 0; opened < options.streams;) {
      const batch = Math.min(50, options.streams - opened)
      const results = await Promise.allSettled(Array.from({ length: batch }, async (_, i) =>
        await socksConnect(socksPort, echo.port, 30_000, `soak${(opened + i) % options.circuits}`)))
      for (const r of results) {
        if (r.status === 'rejected') { failedToOpen++; continue }
        const socket = r.value
        sockets.add(socket)
        socket.on('error', () => {})
        socket.on('close', () => { if (sockets.delete(socket) && !stopping) streamsLost++ })
      }
      opened += batch
    }
    say(`${sockets.size} streams open (${failedToOpen} failed to open)`)

    const chats = { ok: 0, failed: 0 }
    const downloads = { intact: 0, failed: 0, corrupt: 0 }
    const chat = async (socket: Socket): Promise<void> => {
      const ping = Buffer.alloc(64, 0x61)
      const got = await new Promise<boolean>((resolve) => {
        let echoed = 0
        const timer = setTimeout(() => { socket.off('data', onData); resolve(false) }, 10_000)
        const onData = (chunk: Buffer): void => {
          echoed += chunk.length
          if (echoed >= ping.length) { clearTimeout(timer); socket.off('data', onData); resolve(true) }
        }
        socket.on('data', onData)
        socket.write(ping)
      })
      if (got) chats.ok++
      else chats.failed++
    }
    const chatter = (async () => {
      while (!stopping) {
        const open = [...sockets]
        await Promise.all(open.filter((_, i) => i % 10 === 0).map(chat))
        await sleep(options.chatEveryMs ?? 2000)
      }
    })()
    const downloader = (async () => {
      while (!stopping) {
        const got = await download(socksPort, origin.port, origin.body.length)
        if (got === undefined) downloads.failed++
        else if (createHash('sha256').update(got).digest('hex') === bodySha) downloads.intact++
        else if (got.length === origin.body.length) downloads.corrupt++
        else downloads.failed++
      }
    })()

    const samples: SoakSample[] = []
    const end = started + options.durationS * 1000
    while (performance.now() < end) {
      const s = await sample()
      samples.push(s)
      say(`${s.atS.toFixed(0)} s: ${s.openStreams} streams, ${s.rssMiB.toFixed(1)} MiB (anon ${s.anonMiB.toFixed(1)}${processes.length > 1 ? `; ${Object.entries(s.processes).map(([n, m]) => `${n} ${m.rssMiB.toFixed(0)}`).join(', ')}` : ''}), ${s.fds} fds, V8 ${sumMap(s, 'v8MiB').toFixed(0)} (client's heap ${s.clientHeapMiB?.toFixed(0) ?? '—'}), arenas ${(sumMap(s, 'arenasMiB') + sumMap(s, 'brkMiB')).toFixed(0)}, loop p99 ${s.loopDelayP99Ms?.toFixed(1) ?? '—'} ms`)
      await sleep(options.sampleS * 1000)
    }
    stopping = true
    await Promise.all([chatter, downloader])
    const full = samples.find((s) => s.openStreams > 0)
    return {
      options: { streams: options.streams, circuits: options.circuits, durationS: options.durationS, sampleS: options.sampleS, shaping: options.shaping, target: options.target ?? 'up', nodeFlags: options.nodeFlags ?? [], chatEveryMs: options.chatEveryMs ?? 2000 },
      idle,
      samples,
      kibPerStream: full === undefined ? undefined : (full.rssMiB - idle.rssMiB) * 1024 / full.openStreams,
      streamsFailedToOpen: failedToOpen,
      streamsLost,
      chats,
      downloads,
    }
  } finally {
    for (const socket of sockets) socket.destroy()
    await target?.stop()
    await origin.close()
    await echo.close()
  }
}

function sumMap (s: SoakSample, key: keyof ProcessMemory['map']): number {
  return Object.values(s.processes).reduce((total, m) => total + m.map[key], 0)
}

async function download (socksPort: number, originPort: number, size: number): Promise<Buffer | undefined> {
  try {
    const { stdout } = await promisify(execFile)('curl', ['-sS', '--fail', '--max-time', '60', '--socks5-hostname', `127.0.0.1:${socksPort}`,
      `http://127.0.0.1:${originPort}/bytes/${size}`], { encoding: 'buffer', maxBuffer: 4 * size })
    return stdout
  } catch {
    return undefined
  }
}
