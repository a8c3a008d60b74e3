/**
 * The lab's faults, each run on a fresh cascade across namespaces (netns-cascade.ts) and
 * reduced to one row: what was done, how many transfers were intact, failed or corrupted
 * (a body of the right length with the wrong SHA-256: never allowed), the fault's figure,
 * and what the nodes logged at warn or error level about it. docs/RELIABILITY.md reads them.
 */
import type { Fetched, NetnsCascade, NetnsCascadeOptions } from './netns-cascade.js'
import { entryRestartClientsRow, fullKeyDirStartRow, longPartitionRow, skewBoundaryRow } from './faults-more.js'
import { LARGE, SMALL, median, sleep, transfers, untilWorks, type Fault, type FaultContext, type FaultRow, runFault, type Tally } from './fault-kit.js'

/** Link delay, jitter or a rate limit on every link: median time of 64 KiB and throughput of 4 MiB. */
function linkRow (setting: string, link: NetnsCascadeOptions['link'], shaping: NetnsCascadeOptions['shaping'] = 'off'): Fault {
  return {
    fault: 'link delay/jitter/rate',
    setting: `${setting}, shaping ${shaping}`,
    cascade: { link, shaping },
    body: async (lab, tally) => {
      const small = (await transfers(lab, tally, 5, SMALL, 1)).filter((f) => f.intact).map((f) => f.ms)
      const large = (await transfers(lab, tally, 2, 4 * LARGE, 1)).filter((f) => f.intact).map((f) => f.ms)
      const mbps = large.length === 0 ? undefined : 4 * LARGE / 1e6 / (median(large)! / 1000)
      return {
        figure: { name: '64 KiB median', value: median(small), unit: 'ms' },
        notes: `4 MiB at ${mbps === undefined ? '—' : mbps.toFixed(2)} MB/s`,
      }
    },
  }
}

/**
 * kill -9 of hop `position` during 100 transfers, back after 1 s; then the time from its
 * return (its `node.started`) to the end of the first intact download started after it: one of
 * the 100 still going, or a probe once they are done.
 */
function killRow (position: number | 'random mix', epochS: number): Fault {
  return {
    fault: 'kill -9',
    setting: `${position === 'random mix' ? 'a random mix' : 'the exit'} during 100 × 64 KiB (4 at a time), back after 1 s; epochS ${epochS}, streamTimeoutMs 30000`,
    cascade: { epochS },
    body: async (lab, tally) => {
      const victim = position === 'random mix' ? 1 + Math.floor(Math.random() * (lab.hops - 1)) : lab.hops
      let restarted: Promise<number> | undefined
      const during = await transfers(lab, tally, 100, SMALL, 4, async (i) => {
        if (i !== 20) return
        await lab.kill(victim)
        restarted = sleep(1000).then(async () => { await lab.restart(victim); return performance.now() })
      })
      const returnedAt = await restarted!
      // A node that discards its key serves again with the next epoch's: how far that was.
      const returnWall = Date.now() - (performance.now() - returnedAt)
      const toBoundaryS = epochS - (returnWall / 1000) % epochS
      const after = during.filter((f) => f.startedAt >= returnedAt)
      const firstIntact = Math.min(...after.filter((f) => f.intact).map((f) => f.startedAt + f.ms))
      const heal = Number.isFinite(firstIntact) ? firstIntact - returnedAt : await probeFrom(lab, tally, returnedAt)
      const keys = /keys\.discarded/.test(lab.log(victim)) ? 'it discarded its current onion key (tag log not closed cleanly)' : 'it kept its keys'
      return {
        figure: { name: 'new stream works after return', value: heal, unit: 'ms' },
        notes: `killed hop ${victim}, back at ${new Date(returnWall).toISOString()}; ${keys}; the next epoch began ${toBoundaryS.toFixed(1)} s after its return; ` +
          `of the downloads started after its return ${after.filter((f) => f.intact).length} intact, ${after.filter((f) => !f.intact).length} failed${curlCodes(after)}; then ${tally.probes.length} probes`,
      }
    },
  }
}

/** The failed ones by curl's code: ` (curl 97 ×3, 28 ×1)`, or nothing. */
function curlCodes (fetched: readonly Fetched[]): string {
  const counts = new Map<string, number>()
  for (const f of fetched) if (!f.intact) { const code = /curl: \((\d+)\)/.exec(f.error ?? '')?.[1] ?? '?'; counts.set(code, (counts.get(code) ?? 0) + 1) }
  return counts.size === 0 ? '' : ` (curl ${[...counts].map(([code, n]) => `${code} ×${n}`).join(', ')})`
}

/** Probe until a stream works; ms from `since` (performance.now()) to then. */
async function probeFrom (lab: NetnsCascade, tally: Tally, since: number): Promise<number | undefined> {
  const took = await untilWorks(lab, tally, 150_000)
  return took === undefined ? undefined : performance.now() - since
}

/** A link fault held for `holdMs` half a second into a 4 MiB download, then undone; then time until a new stream works. */
function linkFault (fault: string, setting: string, holdMs: number, apply: (lab: NetnsCascade, on: boolean) => Promise<void>,
  cascade: Fault['cascade'] = {}): Fault {
  return {
    fault,
    setting,
    cascade,
    body: async (lab, tally) => {
      const during = lab.fetch(4 * LARGE, 90)
      await sleep(500)
      await apply(lab, true)
      await sleep(holdMs)
      await apply(lab, false)
      const got = tally.add(await during)
      const heal = await untilWorks(lab, tally, 150_000)
      return {
        figure: { name: 'new stream works after restore', value: heal, unit: 'ms' },
        notes: `the download ${got.intact ? `finished intact in ${Math.round(got.ms)} ms` : `failed after ${Math.round(got.ms)} ms (${got.error ?? ''})`}`,
      }
    },
  }
}

/** A clean restart (SIGTERM) of hop `position` while 4 downloads of 4 MiB are open; then time until a new stream works. */
function restartRow (position: number): Fault {
  return {
    fault: 'restart (SIGTERM)',
    setting: `${position === 1 ? 'the entry' : `mix ${position}`} stopped cleanly with 4 downloads of 4 MiB open, started again`,
    cascade: {},
    body: async (lab, tally) => {
      await transfers(lab, tally, 2, SMALL, 1)
      const open = Promise.all(Array.from({ length: 4 }, async () => tally.add(await lab.fetch(4 * LARGE, 60))))
      await sleep(500)
      await lab.stopNode(position)
      await lab.restart(position)
      const heal = await untilWorks(lab, tally, 120_000)
      const inFlight = await open
      return {
        figure: { name: 'new stream works after return', value: heal, unit: 'ms' },
        notes: `open downloads: ${inFlight.filter((f) => f.intact).length} of 4 intact; ${/keys\.discarded/.test(lab.log(position)) ? 'keys discarded' : 'keys kept'}`,
      }
    },
  }
}

/**
 * Many circuits from one client, as many SOCKS user names: the entry's CREATE budget per link
 * (PROTOCOL.md §10, 1 a second, burst 32), which the unshaped client keeps itself so that no
 * stream rides a CREATE the entry drops. Every fetch a new circuit, `concurrency` at a time.
 */
function createBudgetRow (circuits: number, concurrency: number): Fault {
  return {
    fault: 'CREATE budget',
    setting: `${circuits} new circuits (a SOCKS user name each, one 64 KiB download on each), ${concurrency} at a time; the entry's shipped budget (1/s, burst 32)`,
    cascade: {},
    body: async (lab, tally) => {
      const started = performance.now()
      const got = await transfers(lab, tally, circuits, SMALL, concurrency, undefined, (i) => `budget${i}`)
      const s = (performance.now() - started) / 1000
      const times = got.filter((f) => f.intact).map((f) => f.ms)
      return {
        figure: { name: 'circuits that worked', value: tally.intact, unit: `of ${circuits}` },
        notes: `in ${s.toFixed(1)} s (${(tally.intact / s).toFixed(2)} a second); a download's time median ${Math.round(median(times) ?? NaN)} ms, longest ${Math.round(Math.max(...times))} ms`,
      }
    },
  }
}

const ROWS = (mixes: number): Fault[] => [
  linkRow('no delay', { delayMs: 0, jitterMs: 0 }),
  linkRow('30 ms ± 5 ms', { delayMs: 30, jitterMs: 5 }),
  linkRow('50 ms ± 20 ms', { delayMs: 50, jitterMs: 20 }),
  linkRow('30 ms, 1 MB/s', { delayMs: 30, jitterMs: 0, rateBps: 1_000_000 }),
  linkRow('30 ms ± 5 ms', { delayMs: 30, jitterMs: 5 }, 'elastic'),
  killRow('random mix', 20),
  killRow(mixes + 1, 20),
  createBudgetRow(100, 4),
  entryRestartClientsRow(4),
  restartRow(1),
  restartRow(2),
  {
    fault: 'SIGHUP',
    setting: 'every node (client too) sent SIGHUP 4 times during 40 × 64 KiB (4 at a time)',
    cascade: {},
    body: async (lab, tally) => {
      await transfers(lab, tally, 40, SMALL, 4, async (i) => {
        if (i % 10 !== 5) return
        for (let index = 0; index <= lab.hops; index++) lab.signal(index, 'SIGHUP')
      })
      const reloads = Array.from({ length: lab.hops + 1 }, (_, i) => (lab.log(i).match(/reload\.applied/g) ?? []).length)
      return { figure: { name: 'transfers failed', value: tally.failed, unit: 'of 40' }, notes: `reload.applied logged per node (client first): ${reloads.join(', ')}` }
    },
  },
  {
    fault: 'full disk',
    setting: "mix 2's key dir (onion seed, tag logs) on a 1 MiB tmpfs, filled to the last byte; then new circuits (a SOCKS user name each) until 3 fail, then space freed; epochS 20; the entry's per-link CREATE rate raised from 1/s (burst 32) to 1000/s",
    cascade: { epochS: 20, smallKeyDir: { position: 2, bytes: 1024 * 1024 }, hopFields: { 1: { linkCreateRate: 1000, linkCreateBurst: 1000 } } },
    body: async (lab, tally) => {
      let circuit = 0
      for (let i = 0; i < 3; i++) tally.add(await lab.fetch(SMALL, 10, `c${circuit++}`))
      await lab.fillKeyDir(true)
      // A tag log grows 36 bytes per round with CREATEs, into its last 4 KiB page first: the
      // first writes after the fill still fit there.
      let before = 0
      let failedInRow = 0
      while (failedInRow < 3 && circuit < 400) {
        const got = tally.add(await lab.fetch(SMALL, 10, `c${circuit++}`))
        if (got.intact && failedInRow === 0) before++
        failedInRow = got.intact ? 0 : failedInRow + 1
      }
      await lab.fillKeyDir(false)
      const started = performance.now()
      let heal: number | undefined
      while (performance.now() - started < 90_000) {
        if (tally.add(await lab.fetch(SMALL, 10, `c${circuit++}`)).intact) { heal = performance.now() - started; break }
        await sleep(250)
      }
      const failedLog = /keys\.tag_log_failed/.test(lab.log(2))
      return {
        figure: { name: 'new circuit works after space is freed', value: heal, unit: 'ms' },
        notes: `${before} new circuits worked after the fill, then ${failedInRow} failed; mix 2 ${failedLog ? 'logged keys.tag_log_failed' : 'logged no tag-log failure'}`,
      }
    },
  },
  linkFault('stall', 'link into mix 2 holds every byte for 5 s, during a 4 MiB download', 5000,
    async (lab, on) => { await lab.shape(2, { stalled: on }) }),
  linkFault('link cut (reset)', 'link into mix 2 reset and refused for 3 s during a 4 MiB download, then restored', 3000,
    async (lab, on) => { await lab.shape(2, { cut: on }) }),
  linkFault('partition', 'mix 2 cut off at the kernel (its veth down: no reset reaches anyone) for 10 s during a 4 MiB download', 10_000,
    async (lab, on) => { await lab.net.setLinkUp(2, !on) }),
  // Under a shaped profile the client's LOOP probes see the silence too (docs/CLIENT.md, loop accounting).
  linkFault('partition', 'mix 2 cut off at the kernel for 10 s during a 4 MiB download, shaping elastic', 10_000,
    async (lab, on) => { await lab.net.setLinkUp(2, !on) }, { shaping: 'elastic' }),
  linkFault('stall', 'link into mix 2 holds every byte for 5 s, during a 4 MiB download, shaping elastic', 5000,
    async (lab, on) => { await lab.shape(2, { stalled: on }) }, { shaping: 'elastic' }),
  longPartitionRow(40, 5, 'off'),
  longPartitionRow(40, 5, 'elastic'),
  fullKeyDirStartRow(),
  ...[[0, 'elastic'], [5, 'elastic'], [505, 'elastic'], [5005, 'elastic'], [5005, 'off'], [3_600_000, 'off']].map(([skewMs, shaping]): Fault => ({
    fault: 'clock skew',
    setting: `mix 2 restarted with its wall clock ${Number(skewMs) >= 60_000 ? `${Number(skewMs) / 3_600_000} h` : `${skewMs} ms`} ahead, shaping ${shaping}, epochS 3600`,
    cascade: { shaping: shaping as NetnsCascadeOptions['shaping'] },
    body: async (lab, tally) => {
      await lab.stopNode(2)
      await lab.restart(2, Number(skewMs))
      // The restart itself breaks the links for a moment: first wait for a stream to work at all.
      const works = await untilWorks(lab, tally, 30_000)
      const results = works === undefined ? [] : await transfers(lab, tally, 3, SMALL, 1)
      return {
        figure: { name: 'new stream works after restart', value: works, unit: 'ms' },
        notes: works === undefined ? 'no stream worked within 30 s' : `then ${results.filter((f) => f.intact).length} of 3 downloads intact`,
      }
    },
  })),
  skewBoundaryRow(40, 20),
]

export async function runFaults (context: FaultContext, only?: RegExp): Promise<FaultRow[]> {
  const rows: FaultRow[] = []
  for (const fault of ROWS(context.mixes)) {
    if (only !== undefined && !only.test(`${fault.fault} ${fault.setting}`)) continue
    rows.push(await runFault(context, fault))
  }
  return rows
}
