/**
 * A one-line JSON logger for the hot path (no framework: the bundle stays small). Lines go
 * straight to stdout, so Lambda stores each as one JSON log event, and metric lines in CloudWatch
 * Embedded Metric Format become metrics without any API call.
 *
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */

/** CloudWatch namespace of the hot path's metrics. */
export const hotPathMetricNamespace = 'Greco/HotPath';

/** Writes one JSON object per line. */
export interface HotPathLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /**
   * Logs a line that is also a CloudWatch metric (Embedded Metric Format), without dimensions.
   * @param unit a CloudWatch unit, e.g. `Count` or `Milliseconds`
   */
  metric(name: string, value: number, unit: string, fields?: Record<string, unknown>): void;
}

/**
 * Builds a {@link HotPathLogger}.
 *
 * @param write receives each line without its newline; by default appended to stdout
 * @param now clock in milliseconds
 */
export function createLogger(
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  now: () => number = Date.now,
): HotPathLogger {
  const line = (level: string, message: string, fields: Record<string, unknown> = {}): void => {
    write(JSON.stringify({ level, message, time: new Date(now()).toISOString(), ...fields }, errorReplacer));
  };
  return {
    info: (message, fields) => line('info', message, fields),
    warn: (message, fields) => line('warn', message, fields),
    error: (message, fields) => line('error', message, fields),
    metric(name, value, unit, fields = {}) {
      line('info', `metric ${name}`, {
        ...fields,
        _aws: {
          Timestamp: now(),
          CloudWatchMetrics: [
            { Namespace: hotPathMetricNamespace, Dimensions: [[]], Metrics: [{ Name: name, Unit: unit }] },
          ],
        },
        [name]: value,
      });
    },
  };
}

/** Errors have no enumerable fields: log their name, message and cause. */
function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    return {
      name: value.name,
      message: value.message,
      ...(value.cause === undefined ? {} : { cause: value.cause }),
    };
  }
  return value;
}
