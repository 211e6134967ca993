/**
 * The local CloudWatch Logs emulator: the awsJson1_1 API (`POST /`, `X-Amz-Target:
 * Logs_20140328.<Operation>`), as `@aws-sdk/client-cloudwatch-logs` and the AWS CLI
 * (`aws logs ...`, `aws logs tail [--follow]`) send it.
 *
 * Operations: CreateLogGroup, DeleteLogGroup, CreateLogStream, DeleteLogStream, PutLogEvents,
 * DescribeLogGroups, DescribeLogStreams, GetLogEvents, FilterLogEvents (filter patterns: terms,
 * quoted phrases, `?term`, `-term`, `%regex%`; see filter-pattern.ts). State lives in memory.
 *
 * The local cloud's Lambda emulator writes function output here in process, through
 * {@link RunningLogsEmulator.append}, to `/aws/lambda/<function name>` as Lambda does.
 *
 * @example
 * const logs = await startLogsEmulator();
 * const client = new CloudWatchLogsClient({ endpoint: logs.endpoint, region: localRegion, credentials: localCredentials });
 * await client.send(new FilterLogEventsCommand({ logGroupName: '/aws/lambda/my-function' }));
 * await logs.close();
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { dispatchAwsJson, sendAwsJsonError } from '../aws-json.ts';
import { closeServer, listen } from '../http.ts';
import { localAccountId, localRegion } from '../net.ts';
import { LogsApiError } from './errors.ts';
import { logsOperations } from './operations.ts';
import { type InputLogEvent, LogStore } from './store.ts';

export { LogsApiError } from './errors.ts';
export { compileFilterPattern } from './filter-pattern.ts';
export type { InputLogEvent } from './store.ts';

/** The `X-Amz-Target` prefix of CloudWatch Logs (its API version). */
const targetPrefix = 'Logs_20140328.';
/** Request bodies above this are refused: a full PutLogEvents batch (1 MB of messages) with JSON escaping fits. */
const maxRequestBytes = 8 * 1024 * 1024;

/** Options of {@link startLogsEmulator}. */
export interface LogsEmulatorOptions {
  /** TCP port on 127.0.0.1. @default 0 - the OS picks a free port */
  readonly port?: number;
  /** @default 'us-east-1' (local/net.ts localRegion) */
  readonly region?: string;
  /** @default '000000000000' (local/net.ts localAccountId) */
  readonly accountId?: string;
  /** Events kept per log group; beyond, the oldest are dropped. @default 100000 */
  readonly maxEventsPerGroup?: number;
  /** Receives notices (internal errors). @default - lines to stderr */
  readonly logSink?: (line: string) => void;
}

/** A running CloudWatch Logs emulator. */
export interface RunningLogsEmulator {
  /** `http://127.0.0.1:<port>`: `endpoint` of `CloudWatchLogsClient`, `--endpoint-url` of `aws logs`. */
  readonly endpoint: string;
  /**
   * Appends events to a stream as Lambda writes a function's output: the group and the stream are
   * created when missing, lines longer than 256 KB are cut, nothing is refused.
   */
  append(logGroupName: string, logStreamName: string, events: readonly InputLogEvent[]): void;
  /** Stops the server; the events are gone. */
  close(): Promise<void>;
}

/**
 * Starts the CloudWatch Logs emulator on 127.0.0.1 and resolves once it listens.
 *
 * @throws Error when the port cannot be listened on (`EADDRINUSE`)
 */
export async function startLogsEmulator(options: LogsEmulatorOptions = {}): Promise<RunningLogsEmulator> {
  const store = new LogStore({
    region: options.region ?? localRegion,
    accountId: options.accountId ?? localAccountId,
    ...(options.maxEventsPerGroup === undefined ? {} : { maxEventsPerGroup: options.maxEventsPerGroup }),
  });
  const operations = logsOperations(store);
  const log = options.logSink ?? ((line: string) => process.stderr.write(`${line}\n`));

  const handle = (req: IncomingMessage, res: ServerResponse): Promise<void> =>
    dispatchAwsJson(req, res, {
      serviceName: 'CloudWatch Logs emulator',
      targetPrefix,
      operations,
      maxRequestBytes,
      tooLargeCode: 'InvalidParameterException',
      error: (code, message, status) => new LogsApiError(code, message, status),
    });

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log(`[logs emulator] internal error: ${(error as Error).stack ?? String(error)}`);
      if (!res.headersSent)
        sendAwsJsonError(res, new LogsApiError('ServiceUnavailableException', 'internal error', 500));
    });
  });
  const endpoint = await listen(server, options.port ?? 0);
  let closing: Promise<void> | undefined;
  return {
    endpoint,
    append: (group, stream, events) => store.append(group, stream, events),
    close() {
      closing ??= closeServer(server);
      return closing;
    },
  };
}
