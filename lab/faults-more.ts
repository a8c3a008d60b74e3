/**
 * The lab's later faults (issue #14, the rows the first runs left): a partition longer than
 * TCP's retransmission give-up, a clock skew between the grace window and one epoch timed
 * against an epoch boundary, a node started on a key dir that is already full, and a restart
 * of the entry with several clients. Each is reduced to a row as in faults.ts.
 */
import type { Fetched, NetnsCascade } from './netns-cascade.js'
import { LARGE, SMALL, sleep, untilWorks, type Fault, type Tally } from './fault-kit.js'

/**
 * Mix 2 cut off at the kernel for `holdS` during a 4 MiB download, with tcp_retries2 lowered
 * in every namespace so that TCP gives up within the partition (at the kernel's default, 15,
 * it would take about 15 minutes).
 */
export function longPartitionRow (holdS: number, tcpRetries2: number, shaping: 'off' | 'elastic'): Fault {
  return {
    fault: 'partition (long)',
    setting: `mix 2's veth down ${holdS} s during a 4 MiB download, tcp_retries2 ${tcpRetries2} in every namespace (gives up after about ${(0.2 * (2 ** (tcpRetries2 + 1) - 1)).toFixed(1)} s), shaping ${shaping}`,
    cascade: { tcpRetries2, shaping },
    body: async (lab, tally) => {
      const startAt = performance.now()
      const during = lab.fetch(4 * LARGE, holdS + 60)
      await sleep(500)
      await lab.net.setLinkUp(2, false)
      const cutAt = performance.now()
      await sleep(holdS * 1000)
      await lab.net.setLinkUp(2, true)
      const restoredAt = performance.now()
      const got = tally.add(await during)
      const heal = await untilWorks(lab, tally, 120_000)
      const lost = [...lab.log(1).matchAll(/ (successor\.\w+)/g), ...lab.log(0).matchAll(/ (entry\.\w+)/g)].map((m) => m[1])
      return {
        figure: { name: 'new stream works after restore', value: heal === undefined ? undefined : performance.now() - restoredAt, unit: 'ms' },
        notes: `cut at ${wall(cutAt)}, restored at ${wall(restoredAt)}; the download ${got.intact ? 'finished intact' : `failed (${got.error ?? ''})`} ${((startAt + got.ms - restoredAt) / 1000).toFixed(1)} s after the restore; ` +
          `entry and client link events: ${[...new Set(lost)].join(', ') || 'none'}`,
      }
    },
  }
}

/**
 * Mix 2's wall clock `skewS` ahead, between the grace window G (epochS / 4 here) and one epoch:
 * it refuses every CREATE under the clients' current key for the (skew − G) seconds before
 * each boundary. A new circuit (a new SOCKS user name) is started every second across one
 * boundary; each is placed by its start's distance to the boundary.
 */
export function skewBoundaryRow (epochS: number, skewS: number): Fault {
  const graceS = epochS / 4
  return {
    fault: 'clock skew (boundary)',
    setting: `mix 2 restarted ${skewS} s ahead; epochS ${epochS} (G ${graceS} s); a new circuit every second from ${epochS / 2} s before a boundary to ${epochS / 4} s after; shaping off`,
    cascade: { epochS },
    body: async (lab, tally) => {
      await lab.stopNode(2)
      await lab.restart(2, skewS * 1000)
      if (await untilWorks(lab, tally, 30_000) === undefined) throw new Error('no stream worked after the restart')
      // Start half an epoch before the next boundary (waiting for the one after if that has passed).
      const nowS = Date.now() / 1000
      let boundaryS = Math.ceil(nowS / epochS) * epochS
      if (boundaryS - nowS < epochS / 2) boundaryS += epochS
      await sleep((boundaryS - epochS / 2 - nowS) * 1000)
      const probes: Array<Promise<{ offsetS: number, got: Fetched }>> = []
      for (let i = 0; Date.now() / 1000 < boundaryS + epochS / 4; i++) {
        const offsetS = Date.now() / 1000 - boundaryS
        probes.push(lab.fetch(SMALL, 40, `skew${i}`).then((got) => ({ offsetS, got: tally.add(got) })))
        await sleep(1000)
      }
      const done = await Promise.all(probes)
      const line = (p: { offsetS: number, got: Fetched }): string => `${p.offsetS.toFixed(0)}:${p.got.intact ? (p.got.ms / 1000).toFixed(1) : 'x'}`
      const slow = done.filter((p) => !p.got.intact || p.got.ms > 5000).map((p) => p.offsetS)
      const refusedLogged = (lab.log(2).match(/create\.refused_auth/g) ?? []).length
      return {
        figure: { name: 'circuits slow (> 5 s) or failed', value: slow.length, unit: `of ${done.length}` },
        notes: `expected refused from ${-(skewS - graceS)} s to 0 s; slow or failed from ${Math.min(...slow).toFixed(0)} to ${Math.max(...slow).toFixed(0)} s; ` +
          `mix 2 logged create.refused_auth ${refusedLogged}×; per circuit (s from boundary: seconds, x failed) ${done.map(line).join(' ')}`,
      }
    },
  }
}

/**
 * Mix 2 stopped cleanly, its key dir (a 1 MiB tmpfs) filled to the last byte, and started
 * again on it: what it does (PROTOCOL.md: fail closed), then with the space freed.
 */
export function fullKeyDirStartRow (): Fault {
  return {
    fault: 'full disk (at start)',
    setting: "mix 2 stopped cleanly, its key dir (a 1 MiB tmpfs) filled to the last byte, started again; then the space freed and (if it had exited) started once more",
    cascade: { smallKeyDir: { position: 2, bytes: 1024 * 1024 } },
    body: async (lab, tally) => {
      tally.add(await lab.fetch(SMALL, 10))
      await lab.stopNode(2)
      await lab.fillKeyDir(true)
      let started = true
      let said = ''
      try { await lab.restart(2) } catch (err) { started = false; said = (err as Error).message.split('stderr:\n')[1] ?? '' }
      await sleep(2000)
      const status = lab.exitStatus(2)
      // Its log before a restart replaces it (a start that failed says why in the error).
      const firstLog = (said === '' ? lab.log(2) : said).split('\n').filter((l) => / (warn|error|fatal) |^mixgate: |^\s+at /.test(l)).slice(0, 5).map((l) => l.trim().replace(/^\S+Z /, '').slice(0, 200))
      const whileFull = tally.add(await lab.fetch(SMALL, 15))
      await lab.fillKeyDir(false)
      const freedAt = performance.now()
      if (status !== undefined) await lab.restart(2)
      const heal = await untilWorks(lab, tally, 90_000)
      return {
        figure: { name: 'new stream works after space is freed', value: heal === undefined ? undefined : performance.now() - freedAt, unit: 'ms' },
        notes: `on the full dir it ${started ? 'started' : 'did not start'}${status === undefined ? ', still running' : `, exited ${status}`}; a stream then ${whileFull.intact ? 'worked' : 'failed'}; its warn/error lines: ${firstLog.join(' | ') || 'none'}`,
      }
    },
  }
}

/**
 * The entry stopped cleanly (SIGTERM) and started again while `clients` client processes
 * each have a 4 MiB download open: the time until every client's new stream works.
 */
export function entryRestartClientsRow (clients: number): Fault {
  return {
    fault: 'restart (SIGTERM), clients',
    setting: `the entry stopped cleanly with ${clients} clients (processes) each downloading 4 MiB, started again`,
    cascade: { moreClients: clients - 1 },
    body: async (lab, tally) => {
      for (let c = 0; c < lab.clients; c++) tally.add(await lab.fetch(SMALL, 10, undefined, c))
      const open = Promise.all(Array.from({ length: lab.clients }, async (_, c) => tally.add(await lab.fetch(4 * LARGE, 60, undefined, c))))
      await sleep(500)
      await lab.stopNode(1)
      await lab.restart(1)
      const back = performance.now()
      const heals = await Promise.all(Array.from({ length: lab.clients }, async (_, c) => await untilWorksFor(lab, tally, c, 60_000, back)))
      const inFlight = await open
      const worst = heals.some((h) => h === undefined) ? undefined : Math.max(...(heals as number[]))
      return {
        figure: { name: 'every client\'s new stream works after return', value: worst, unit: 'ms' },
        notes: `per client ${heals.map((h) => h === undefined ? '—' : `${(h / 1000).toFixed(1)} s`).join(', ')}; open downloads ${inFlight.filter((f) => f.intact).length} of ${lab.clients} intact; ` +
          `entry.lost logged by ${Array.from({ length: lab.clients }, (_, c) => /entry\.lost/.test(lab.clientLog(c))).filter(Boolean).length} clients`,
      }
    },
  }
}

/** A performance.now() time as wall-clock ISO time, to read beside the nodes' logs. */
const wall = (at: number): string => new Date(Date.now() - (performance.now() - at)).toISOString().slice(11, 23)

async function untilWorksFor (lab: NetnsCascade, tally: Tally, client: number, boundMs: number, since: number): Promise<number | undefined> {
  while (performance.now() - since < boundMs) {
    if (tally.add(await lab.fetch(SMALL, 10, undefined, client)).intact) return performance.now() - since
    await sleep(250)
  }
  return undefined
}
