/**
 * The exit's backward cells are reused once an unshaped round has written them
 * (src/exit/backward-cells.ts): the pool on its own, then through a real mix and exit, where a
 * host's answer of some hundred cells over many rounds must come back byte for byte while the
 * exit builds later cells in cells already sent.
 */
import { createServer } from 'node:net'
import t from 'tap'
import { cryptoReady, randomBytes } from '../../src/crypto/index.js'
import { BackwardCells } from '../../src/exit/backward-cells.js'
import { RelayCommand } from '../../src/protocol/relay-payload.js'
import { waitFor } from '../helpers/cascade.js'
import { startExitCascade } from './helpers/exit-cascade.js'

await cryptoReady()

t.test('a cell given back is taken again; past maxFree, or of another size, it is left to the collector', async (t) => {
  const cells = new BackwardCells(64, 2)
  const first = cells.take()
  t.equal(first.length, 64, 'a new cell is cellSize bytes')
  t.equal(cells.available, 0)
  const second = cells.take()
  const third = cells.take()
  cells.giveBack([first, new Uint8Array(32), second, third])
  t.equal(cells.available, 2, 'kept up to maxFree, the odd size skipped')
  const again = [cells.take(), cells.take()]
  t.ok(again.includes(first) && again.includes(second), 'the cells given back come out again')
  t.not(cells.take(), third, 'the one over the bound was not kept: a new cell')
})

t.test('a long answer from a host arrives whole while the exit reuses its cells', async (t) => {
  const body = Buffer.from(randomBytes(300_000))
  // The exit may reset its side when the cascade stops: the host has nothing left to say then.
  const host = createServer((socket) => { socket.on('error', () => {}); socket.end(body) })
  await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { host.close() })
  const port = (host.address() as { port: number }).port
  const cascade = await startExitCascade()
  t.teardown(() => cascade.stop())
  const streams = await cascade.open()
  streams.begin(1, '127.0.0.1', port)
  t.equal(await streams.answer(1), 'connected')
  const received = (): Buffer => Buffer.concat(streams.received(1).filter((m) => m.command === RelayCommand.DATA).map((m) => m.data))
  await waitFor(() => received().length >= body.length, 'the whole answer')
  t.ok(received().equals(body), 'every byte as the host sent it, in order')
  t.ok(cascade.exit.node.reusableBackwardCells > 0, 'cells written by a round were kept for reuse')
})
