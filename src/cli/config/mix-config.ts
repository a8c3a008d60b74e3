/**
 * The config file of a mix: its key dir, where it listens and what it publishes, and the
 * signed cascade it belongs to.
 *
 *   { "role": "mix", "position": 1, "keyDir": "mix1", "address": "198.51.100.7:9001",
 *     "cascade": "cascade.json", "admin": "127.0.0.1:9101",
 *     "peers": ["http://10.0.0.2:9101", "http://10.0.0.3:9101"] }
 *
 * `peers` (entry only) are the admin URLs of hops 2…n: the entry fetches their fresh node
 * descriptors to serve `/cascade` with current onion keys.
 */
import { arr, int, obj, oneOf, type Infer } from '../../base/schema.js'
import { HOP_OPTIONAL, hopFields, httpUrlSpec, MAX_MIXES } from './common-fields.js'

export const mixConfigSpec = obj({
  role: oneOf(['mix'] as const),
  position: int({ min: 1, max: MAX_MIXES }),
  ...hopFields,
  minBatch: int({ min: 0, max: 65536, default: 0 }),
  peers: arr(httpUrlSpec(), { minLength: 1, maxLength: MAX_MIXES }),
}, { optional: [...HOP_OPTIONAL, 'peers'] })

export type MixConfig = Infer<typeof mixConfigSpec>
