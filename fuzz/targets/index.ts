/** Every decoder a peer can reach, in the order `npm run fuzz` runs them. */
import type { TargetSpec } from '../target.js'
import { adminTargets } from './admin-http.js'
import { directoryTargets } from './directory.js'
import { doorTargets } from './doors.js'
import { linkTargets } from './link.js'
import { protocolTargets } from './protocol.js'
import { socksTargets } from './socks.js'
import { textTargets } from './text.js'

export const ALL_TARGETS: readonly TargetSpec[] = [
  ...protocolTargets,
  ...linkTargets,
  ...socksTargets,
  ...doorTargets,
  ...directoryTargets,
  ...textTargets,
  ...adminTargets,
]
