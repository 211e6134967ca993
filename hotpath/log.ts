/**
 * A one-line JSON logger for the hot path (no framework: the bundle stays small). Lines go
 * straight to stdout, so Lambda stores each as one JSON log event, and metric lines in CloudWatch
 * Embedded Metric Format become metrics without any API call. Like the control plane's
 * Powertools lines (core/observability.ts), each line carries `level`, `message`, `service`
 * (`POWERTOOLS_SERVICE_NAME`) and a timestamp.
 *
 * Why not Powertools Logger and Metrics, as the control plane uses (measured 2026-12, Powertools
 * 2.36.0, Node.js 24, the controller bundled with the esbuild options of bench/hotpath: ESM,
 * minified, `@aws-sdk/*` external):
 * - bundle: 36,709 B with this logger; 59,861 B with Powertools Logger (+23 KB); 70,474 B with
 *   Logger and Metrics (+34 KB), against a budget of 50,000 B (bench/hotpath.ts);
 * - cold import, median of 40 fresh processes importing a bundle of only the logger: this logger
 *   6.6 ms (no different from an empty module), Powertools Logger 18.2 ms, Logger and Metrics
 *   19.5 ms: +12 to +13 ms on every cold start (the whole controller: about 210 ms, most of it
 *   the AWS SDK);
 * - per request: 7 µs to write the request line here, 13 µs with Powertools Logger (+6 µs,
 *   negligible beside the 5 ms own-time target).
 * The bundle and cold-start costs are above what the hot path accepts for the same lines (about
 * 10 KB and 10 ms), so it keeps this logger.
 *
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */
import { EnvNames } from '../domain/env.ts';
import { HotPathMetrics } from '../domain/metrics.ts';

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
 * @param service the `service` key of every line; by default the function's
 *   `POWERTOOLS_SERVICE_NAME` (set by lib/constructs/greco-function.ts), none when unset
 */
export function createLogger(
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  now: () => number = Date.now,
  service: string | undefined = process.env[EnvNames.serviceName] || undefined,
): HotPathLogger {
  const line = (level: string, message: string, fields: Record<string, unknown> = {}): void => {
    write(
      JSON.stringify(
        { level, message, service, time: new Date(now()).toISOString(), ...fields },
        errorReplacer,
      ),
    );
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
            { Namespace: HotPathMetrics.namespace, Dimensions: [[]], Metrics: [{ Name: name, Unit: unit }] },
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
