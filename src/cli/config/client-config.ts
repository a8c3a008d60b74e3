/**
 * The config file of a client: its cascade and its doors for apps.
 *
 *   { "role": "client", "cascade": "cascade.json", "cascadeUrl": "http://127.0.0.1:9101/cascade",
 *     "socks": "127.0.0.1:1080", "http": "127.0.0.1:8118" }
 *
 * `cascade` is the signed cascade descriptor and the trust anchor: the identity keys it
 * names are pinned. `cascadeUrl` (optional) is where fresh descriptors with the next
 * epochs' onion keys are fetched before each epoch change (the entry mix's admin
 * `/cascade`, or a directory); they must carry the same identities. Without it the file is
 * re-read instead.
 *
 * `socks` serves SOCKS5, SOCKS4 and SOCKS4a on one port. `http` (optional, off by default like
 * Tor's HTTPTunnelPort) is an HTTP CONNECT port for programs that know HTTP proxies only:
 * CONNECT is all it serves, and `Proxy-Authorization: Basic` credentials choose the circuit
 * as SOCKS5 credentials do.
 *
 * `auth` lists the SOCKS5 methods offered: `none`, and `userpass`, whose credentials are not
 * checked but choose the circuit (streams with different credentials never share one).
 * `safeSocks` refuses SOCKS5 and SOCKS4 requests that carry an IP address instead of a name
 * (the app resolved the name itself, and its DNS query left the machine outside the cascade).
 *
 * `streamAttachTimeoutMs`: a request the exit has not answered this long is tried on another
 * circuit (twice at most; Tor's CircuitStreamTimeout), and the first takes no new streams;
 * `streamTimeoutMs` from the app's request bounds all tries (at or above it: no retry).
 * `maxConnections` bounds the app connections open at once, both doors together; past it a
 * SOCKS request is answered 0x01 and an HTTP CONNECT 503 at once. By default it is what the
 * process's open-file limit leaves room for (src/client/door-cap.ts): raise that limit
 * (systemd's LimitNOFILE=) rather than this.
 *
 * Loop accounting (cascades with shaping `strict` or `elastic`; docs/CLIENT.md "Loop
 * accounting"): a LOOP lost or late beyond the cascade's deterministic bound raises an alarm,
 * and alarms raised about probes that were in the cascade together are one incident.
 * `alarmLimit` incidents within `alarmWindowMs` make the client fail closed: new streams are
 * refused (SOCKS reply 1) while its cover traffic goes on unchanged. With `failClosed`
 * `recover` (the default) it takes new streams again once its probes have come back on time
 * for `recoveryHoldMs` after the last alarm; each episode in a row doubles that hold, up to
 * `recoveryHoldMaxMs`. `untilRestart` keeps the rule before: every alarm counts, forever, and
 * only a restart opens the client again.
 */
import { arr, bool, hostPort, int, obj, oneOf, refine, type Infer } from '../../base/schema.js'
import { DEFAULT_FAIL_CLOSED } from '../../client/shaping/fail-closed-gate.js'
import { adminSpec, httpUrlSpec, logSpec, pathSpec, SCHEMA_REF_OPTIONAL, schemaRefFields } from './common-fields.js'

const authSpec = refine(arr(oneOf(['none', 'userpass'] as const), { minLength: 1, maxLength: 2, default: ['none', 'userpass'] }),
  (methods) => new Set(methods).size === methods.length ? undefined : 'lists a method twice')

const DAY_MS = 86_400_000

export const clientConfigSpec = obj({
  ...schemaRefFields,
  role: oneOf(['client'] as const),
  cascade: pathSpec(),
  cascadeUrl: httpUrlSpec(),
  socks: hostPort({ allowZeroPort: true, default: '127.0.0.1:1080' }),
  http: hostPort({ allowZeroPort: true }),
  auth: authSpec,
  safeSocks: bool({ default: false }),
  maxConnections: int({ min: 1, max: 1_048_576 }),
  streamTimeoutMs: int({ min: 1000, max: 600_000, default: 30_000 }),
  streamAttachTimeoutMs: int({ min: 1000, max: 600_000, default: 10_000 }),
  alarmLimit: int({ min: 1, max: 1_000_000, default: 3 }),
  failClosed: oneOf(['recover', 'untilRestart'] as const, { default: 'recover' }),
  alarmWindowMs: int({ min: 1000, max: 7 * DAY_MS, default: DEFAULT_FAIL_CLOSED.alarmWindowMs }),
  recoveryHoldMs: int({ min: 1000, max: DAY_MS, default: DEFAULT_FAIL_CLOSED.holdMs }),
  recoveryHoldMaxMs: int({ min: 1000, max: 7 * DAY_MS, default: DEFAULT_FAIL_CLOSED.maxHoldMs }),
  admin: adminSpec,
  log: logSpec,
}, { optional: [...SCHEMA_REF_OPTIONAL, 'cascadeUrl', 'http', 'maxConnections', 'admin'] })

export type ClientConfig = Infer<typeof clientConfigSpec>
