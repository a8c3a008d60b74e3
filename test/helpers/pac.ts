/**
 * Test helper: a PAC file's FindProxyForURL, evaluated as a browser's PAC engine would, in a
 * `node:vm` context with nothing in it (mixgate's PAC needs none of the PAC helper functions).
 */
import { createContext, Script } from 'node:vm'

export function findProxy (pac: string): (url: string, host: string) => unknown {
  const context = createContext({})
  new Script(pac, { filename: 'proxy.pac' }).runInContext(context, { timeout: 1000 })
  const fn = (context as { FindProxyForURL?: unknown }).FindProxyForURL
  if (typeof fn !== 'function') throw new Error('the PAC defines no FindProxyForURL')
  return fn as (url: string, host: string) => unknown
}
