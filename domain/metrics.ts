/**
 * CloudWatch metrics that one side emits and the other alarms on: the hot-path controller writes
 * them as Embedded Metric Format log lines, the CDK app builds alarms on them.
 *
 * @module
 */

/** The hot path's custom metrics. */
export const HotPathMetrics = {
  /** CloudWatch namespace of every hot-path metric. */
  namespace: 'Greco/HotPath',
  /** Count of events that could not be published (best effort: the verb still succeeded). */
  eventPublishFailures: 'EventPublishFailures',
} as const;

/**
 * The control plane's custom metrics (management API, deployment steps, conductors), written by
 * Powertools Metrics (core/observability.ts) as Embedded Metric Format log lines. Every metric
 * carries the `service` dimension (the function's `POWERTOOLS_SERVICE_NAME`).
 */
export const ControlPlaneMetrics = {
  /**
   * CloudWatch namespace of every control-plane metric; the CDK app sets it as
   * `POWERTOOLS_METRICS_NAMESPACE` on each control-plane function.
   */
  namespace: 'Greco/ControlPlane',
  /**
   * Counts of management API answers (unit Count, one per request) by status class, one metric
   * per class as API Gateway names its own `4xx` and `5xx` metrics, so that an alarm watches one
   * metric and no dimension is shared with other metrics of the same invocation.
   */
  apiAnswers: {
    '2xx': 'ApiAnswers2xx',
    '3xx': 'ApiAnswers3xx',
    '4xx': 'ApiAnswers4xx',
    '5xx': 'ApiAnswers5xx',
  },
} as const;
