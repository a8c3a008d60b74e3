/**
 * The config file of a mix: which cascade it belongs to, where in it, and its keys.
 *
 *   { "role": "mix", "cascade": "cascade.json", "position": 1,
 *     "linkKeyFile": "mix1.link.key", "onionKeyFile": "mix1.onion.key" }
 */
import { hostPort, int, obj, oneOf, type Infer } from '../../node/schema.js'
import { circuitIdleSSpec, logSpec, MAX_MIXES, pathSpec, replayCapacitySpec } from './common-fields.js'

export const mixConfigSpec = obj({
  role: oneOf(['mix'] as const),
  cascade: pathSpec(),
  position: int({ min: 1, max: MAX_MIXES }),
  linkKeyFile: pathSpec(),
  onionKeyFile: pathSpec(),
  listen: hostPort(),
  minBatch: int({ min: 0, max: 65536, default: 0 }),
  replayCapacity: replayCapacitySpec,
  circuitIdleS: circuitIdleSSpec,
  log: logSpec,
}, { optional: ['listen', 'replayCapacity', 'circuitIdleS'] })

export type MixConfig = Infer<typeof mixConfigSpec>
