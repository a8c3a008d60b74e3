/**
 * The config file of a client: its cascade and its SOCKS5 port for apps.
 *
 *   { "role": "client", "cascade": "cascade.json", "socks": "127.0.0.1:1080" }
 *
 * `auth` lists the SOCKS5 methods offered: `none`, and `userpass`, whose credentials are not
 * checked but choose the circuit (streams with different credentials never share one).
 * `safeSocks` refuses requests that carry an IP address instead of a name (the app resolved
 * the name itself, and its DNS query left the machine outside the cascade).
 */
import { arr, bool, hostPort, int, obj, oneOf, refine, type Infer } from '../../node/schema.js'
import { logSpec, pathSpec } from './common-fields.js'

const authSpec = refine(arr(oneOf(['none', 'userpass'] as const), { minLength: 1, maxLength: 2, default: ['none', 'userpass'] }),
  (methods) => new Set(methods).size === methods.length ? undefined : 'lists a method twice')

export const clientConfigSpec = obj({
  role: oneOf(['client'] as const),
  cascade: pathSpec(),
  socks: hostPort({ allowZeroPort: true, default: '127.0.0.1:1080' }),
  auth: authSpec,
  safeSocks: bool({ default: false }),
  streamTimeoutMs: int({ min: 1000, max: 600_000, default: 30_000 }),
  log: logSpec,
})

export type ClientConfig = Infer<typeof clientConfigSpec>
