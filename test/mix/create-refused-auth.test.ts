/**
 * A CREATE no onion key of the hop opens (a client with other keys, garbage, or this node's
 * clock off by an epoch, which the reliability lab found refused every circuit without a
 * word) is counted and logged once a minute at warn, with the epochs the hop holds and what
 * to check.
 */
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { cryptoReady } from '../../src/crypto/index.js'
import { CellCommand, encodeCell, randomCircuitId } from '../../src/protocol/cell.js'
import { memoryLogger, startCascade, waitFor } from '../helpers/cascade.js'
import { RawClient } from '../helpers/raw-circuit.js'

await cryptoReady()

t.test('CREATEs that no key opens: counted, and a warning names the epochs held and the clock', async (t) => {
  const log = memoryLogger('test', 'info')
  const c = await startCascade({ logger: log.logger })
  let stopped = false
  t.teardown(async () => { if (!stopped) await c.stop() })
  const entry = c.mixes[0]!.node
  const client = await RawClient.connect(c.cascade)
  t.teardown(() => client.close())
  const header = randomBytes(c.cascade.geometry.cellSize - 5)
  client.send(encodeCell(c.cascade.geometry, randomCircuitId(() => false), CellCommand.CREATE, header))
  client.send(encodeCell(c.cascade.geometry, randomCircuitId(() => false), CellCommand.CREATE, randomBytes(c.cascade.geometry.cellSize - 5)))
  await waitFor(() => entry.stats.createsRefusedAuth === 2, 'both CREATEs refused')
  t.notOk(log.lines.some((line) => line.includes('create.refused_auth') && line.includes('warn')), 'nothing at warn yet (once a minute)')
  await c.stop() // flushes the aggregate
  stopped = true
  const line = log.lines.find((l) => l.includes('create.refused_auth') && l.includes('count=2'))
  t.ok(line, 'one warn line with the count')
  t.match(line ?? '', /epochs=\d+/, 'naming the epochs this hop holds keys for')
  t.match(line ?? '', /clock/, 'and telling the operator to check the clock')
})
