/**
 * The control plane's logger and metrics, created once per process at module scope from the
 * function's environment, and the one middy middleware list every control-plane handler uses.
 *
 * - Service name: `POWERTOOLS_SERVICE_NAME`, set per function by `lib/constructs/greco-function.ts`
 *   (`functions-api`, `deployment-steps`, `lambda-conductor`...); it is the `service` key of every
 *   log line and the `service` dimension of every metric. Unset: Powertools' `service_undefined`.
 * - Log level: `POWERTOOLS_LOG_LEVEL` (or Lambda's own `AWS_LAMBDA_LOG_LEVEL`). Unset: `INFO`.
 * - Metrics namespace: `POWERTOOLS_METRICS_NAMESPACE`. Unset: `ControlPlaneMetrics.namespace`
 *   (`Greco/ControlPlane`, domain/metrics.ts).
 *
 * Metrics are CloudWatch Embedded Metric Format lines on stdout: no API call and no IAM permission.
 *
 * @example
 * export const handler = middy(run).use(observe());
 *
 * @module
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import { EnvNames, optionalEnv } from '../domain/env.ts';
import { ControlPlaneMetrics } from '../domain/metrics.ts';

export { MetricUnit } from '@aws-lambda-powertools/metrics';

/**
 * The process's logger: JSON lines with `service`, `level`, `timestamp`, and, inside a handler
 * wrapped with {@link observe}, the Lambda context (`function_request_id`, `cold_start`...).
 * Per-request keys go in with `logger.appendKeys(...)`; {@link observe} removes them after each
 * invocation, so they never leak into the next one. Set the level with `POWERTOOLS_LOG_LEVEL`
 * before the module loads: `logger.setLogLevel()` lasts only until the next invocation, whose
 * `injectLambdaContext` restores the initial level (Powertools' debug-sampling refresh).
 */
export const logger = new Logger();

/**
 * The process's metrics: add with `metrics.addMetric(name, MetricUnit.Count, 1)`; {@link observe}
 * flushes them as one EMF line at the end of each invocation. Powertools' own warnings (e.g. an
 * invocation that stored no metric) go through {@link logger}.
 */
export const metrics = new Metrics({
  namespace: optionalEnv(EnvNames.metricsNamespace, ControlPlaneMetrics.namespace),
  logger,
});

/** Options of {@link observe}. */
export interface ObserveOptions {
  /**
   * Also emit Powertools' `ColdStart` metric (Count, dimensions `service` and `function_name`)
   * on the first invocation of each execution environment.
   * @default false
   */
  readonly captureColdStartMetric?: boolean;
}

const observeDefaults: Required<ObserveOptions> = { captureColdStartMetric: false };

/**
 * The middlewares every control-plane handler starts with, to `use()` first (outermost):
 * `injectLambdaContext(logger, { resetKeys: true })` (Lambda context on every line; keys
 * appended during an invocation are removed when it ends, also on error) and
 * `logMetrics(metrics)` (stored metrics flushed once per invocation, also on error).
 * Middlewares used after these run inside them: what they log carries the context, and what
 * they add to {@link metrics}, even in `after`/`onError`, is flushed.
 *
 * Each invocation should store at least one metric: Powertools logs a warning when it flushes
 * none.
 *
 * @example
 * export const handler = middy(run).use(observe()).use(myMiddleware());
 */
export function observe<TEvent = unknown, TResult = unknown, TContext extends Context = Context>(
  opts: ObserveOptions = {},
): MiddlewareObj<TEvent, TResult, Error, TContext>[] {
  const { captureColdStartMetric } = { ...observeDefaults, ...opts };
  return [injectLambdaContext(logger, { resetKeys: true }), logMetrics(metrics, { captureColdStartMetric })];
}
