/**
 * Errors of the metrics registry and its parser. All but the last are programming errors in
 * the code that defines or updates a metric (a bad name, an undeclared label value), never
 * something an operator or a peer can cause, so they surface at startup or in tests. Codes:
 *   - `METRICS_BAD_NAME`    a metric or label name outside the allowed syntax or prefix
 *   - `METRICS_DUPLICATE`   a metric name registered twice, or a series bound twice
 *   - `METRICS_BAD_LABELS`  a label missing, undeclared, or with a value not in its fixed set
 *   - `METRICS_BAD_BUCKETS` histogram buckets that are not finite and strictly increasing
 *   - `METRICS_BAD_VALUE`   a counter moved backwards, or a NaN observation
 *   - `METRICS_BOUND`       a stored update to a series whose value is read from a callback
 *   - `METRICS_PARSE`       text given to parsePrometheusText outside the subset it reads
 *                           (this one can come from outside: a node answering `mixgate status`)
 */
import { MixgateError } from '../errors.js'

export class MetricsError extends MixgateError {}
