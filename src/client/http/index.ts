/** The HTTP CONNECT front door of the client (Tor's HTTPTunnelPort): the public API for the rest of mixgate. */
export { HttpFront } from './http-front.js'
export type { HttpFrontOptions, HttpCountersSnapshot } from './http-front.js'
export { HttpFrontError, HttpFrontErrorCode } from './http-error.js'
export { httpStatusForRep } from './http-status.js'
