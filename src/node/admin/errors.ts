/**
 * Errors of the admin server and of `mixgate status`. An admin address that is not loopback
 * is a `ConfigError` (src/base/config-error.ts: the operator must fix the file); these are
 * the rest. Codes:
 *   - `ADMIN_LISTEN_FAILED`  the port could not be bound (the message names the OS code)
 *   - `ADMIN_STATE`          start() called twice
 *   - `STATUS_BAD_URL`       the admin URL is not an http(s) URL
 *   - `STATUS_UNREACHABLE`   no HTTP answer (refused, timed out, reset)
 *   - `STATUS_BAD_RESPONSE`  an answer that is not what an admin server sends
 *   - `STATUS_BAD_METRICS`   /metrics text outside the format subset we emit (line number given)
 */
import { MixgateError } from '../../errors.js'

export class AdminError extends MixgateError {}

export class StatusError extends MixgateError {}
