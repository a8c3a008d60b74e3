/**
 * Test helper: a circuit built as RawClient builds one, but not sent — so a test can put its
 * CREATE in one write with other cells (the real client's CREATE and first BEGIN leave
 * together the same way).
 */
import { cascadeEpochAt, onionKeysFor } from '../../src/directory/cascade.js'
import { CellCommand, encodeCell, randomCircuitId } from '../../src/protocol/cell.js'
import { createOnion } from '../../src/protocol/onion.js'
import { BackwardOpener, ForwardSealer } from '../../src/protocol/relay-layers.js'
import type { RawCircuit, RawClient } from '../helpers/raw-circuit.js'

export function unsentCircuit (client: RawClient): RawCircuit {
  const cascade = client.cascade
  const { geometry } = cascade
  const epoch = cascadeEpochAt(cascade)
  const onion = createOnion(onionKeysFor(cascade, epoch)!, { geometry, cascadeId: cascade.id, epoch })
  const id = randomCircuitId(() => false)
  const create = encodeCell(geometry, id, CellCommand.CREATE, onion.header)
  return { id, onion, sealer: new ForwardSealer(geometry, onion.hopKeys), opener: new BackwardOpener(geometry, onion.hopKeys), create, epoch }
}
