/**
 * Reading a function's logs where Lambda sends them, CloudWatch Logs, the same way on AWS and on
 * the local cloud: the function's log group comes from Lambda (`GetFunction`,
 * `LoggingConfig.LogGroup`, `/aws/lambda/<name>` by default), its events from `FilterLogEvents`,
 * page by page; following polls it as `aws logs tail --follow` does. SDK exceptions are turned
 * into {@link CliError}s here.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CloudWatchLogsClient,
  type FilteredLogEvent,
  FilterLogEventsCommand,
  ResourceNotFoundException as LogGroupMissingException,
} from '@aws-sdk/client-cloudwatch-logs';
import { GetFunctionCommand, type LambdaClient, ResourceNotFoundException } from '@aws-sdk/client-lambda';
import type { Session } from './context.ts';
import { CliError, UnreachableError, UsageError } from './errors.ts';

/** One log event of a function, as `greco logs` prints it. */
export interface FunctionLogLine {
  /** Milliseconds since the epoch. */
  readonly timestamp: number;
  readonly message: string;
  /** The stream: one per execution environment (function process). */
  readonly logStreamName: string;
  readonly eventId: string;
}

/** The function has never run, so Lambda has not created its log group yet. */
export class LogGroupNotFoundError extends CliError {
  readonly logGroupName: string;
  constructor(logGroupName: string, options: ErrorOptions = {}) {
    super(
      `no logs yet: the log group ${logGroupName} does not exist (Lambda creates it at the first invocation; greco logs --follow waits for it)`,
      options,
    );
    this.name = 'LogGroupNotFoundError';
    this.logGroupName = logGroupName;
  }
}

/** Where a function's events are: its log group, and for a shared group, how to tell its streams. */
export interface FunctionLogSource {
  readonly functionName: string;
  readonly logGroupName: string;
  /**
   * Whether the group is the function's own (`/aws/lambda/<name>`). In a custom group shared by
   * several functions, Lambda names streams `YYYY/MM/DD/<function name>[<version>][<id>]`, and only
   * those are the function's.
   */
  readonly ownGroup: boolean;
}

/** `10m`-style durations of `--since`, as `aws logs tail` takes them: seconds to weeks. */
const sinceUnitsMs: Readonly<Record<string, number>> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/**
 * The start time of `--since`: a relative duration (`30s`, `10m`, `2h`, `1d`, `1w`, one unit, as
 * `aws logs tail` takes it) before `now`, or an ISO 8601 time.
 *
 * @returns milliseconds since the epoch
 * @throws UsageError when it is neither
 * @example
 * parseSince('10m', Date.parse('2025-01-01T12:00:00Z')); // Date.parse('2025-01-01T11:50:00Z')
 */
export function parseSince(value: string, now: number): number {
  const relative = /^(\d+)([smhdw])$/.exec(value);
  if (relative !== null) return now - Number(relative[1]) * (sinceUnitsMs[relative[2] as string] as number);
  const time = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(time)) {
    throw new UsageError(
      `logs: --since takes a duration (30s, 10m, 2h, 1d, 1w) or an ISO 8601 time, got ${JSON.stringify(value)}`,
    );
  }
  return time;
}

/** The CloudWatch Logs client of a session: the local cloud's emulator, or AWS through the SDK's default credential chain. */
export function logsClientFor(session: Session): CloudWatchLogsClient {
  if (session.local !== undefined) {
    return new CloudWatchLogsClient({
      endpoint: session.local.endpoints.logs,
      region: session.local.region,
      credentials: session.local.credentials,
      maxAttempts: 2,
    });
  }
  return new CloudWatchLogsClient(session.region === undefined ? {} : { region: session.region });
}

/** A failure of an SDK call as one line: unreachable (no HTTP answer) or refused. */
function translate(error: unknown, session: Session, service: string, operation: string): CliError {
  if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === undefined) {
    return new UnreachableError(
      session.local === undefined
        ? `cannot call ${service} (${(error as Error).message}): check your AWS credentials and region (greco login --region)`
        : `cannot reach ${service} of the local cloud (${(error as Error).message}): is it running (greco local)?`,
      { cause: error },
    );
  }
  return new CliError(
    `${service} refused ${operation}: ${(error as Error).name}: ${(error as Error).message}`,
    {
      cause: error,
    },
  );
}

/**
 * Where a function's logs are: asks Lambda for its `LoggingConfig.LogGroup` (GetFunction, which
 * has its own 100 requests/s quota, apart from the 15/s of the other control-plane calls).
 *
 * @param functionName - the Lambda function name (`<prefix>-<workspace>-<name>`)
 * @throws CliError when the function does not exist or Lambda refuses; UnreachableError
 */
export async function functionLogSource(
  lambda: LambdaClient,
  session: Session,
  name: string,
  functionName: string,
): Promise<FunctionLogSource> {
  let logGroup: string | undefined;
  try {
    const answer = await lambda.send(new GetFunctionCommand({ FunctionName: functionName }));
    logGroup = answer.Configuration?.LoggingConfig?.LogGroup;
  } catch (error) {
    if (error instanceof ResourceNotFoundException) {
      throw new CliError(
        `${name} is not deployed in workspace ${session.workspace} (no Lambda function ${functionName}): greco functions lists what is`,
        { cause: error },
      );
    }
    throw translate(error, session, 'Lambda', 'GetFunction');
  }
  const own = `/aws/lambda/${functionName}`;
  return { functionName, logGroupName: logGroup ?? own, ownGroup: (logGroup ?? own) === own };
}

/** Whether an event of `source`'s group is the function's (always, in its own group). */
function isFunctions(source: FunctionLogSource, logStreamName: string): boolean {
  return source.ownGroup || logStreamName.slice('YYYY/MM/DD/'.length).startsWith(`${source.functionName}[`);
}

function toLine(event: FilteredLogEvent): FunctionLogLine {
  return {
    timestamp: event.timestamp ?? 0,
    message: (event.message ?? '').replace(/\n$/, ''),
    logStreamName: event.logStreamName ?? '',
    eventId: event.eventId ?? '',
  };
}

/** What to read. */
export interface ReadLogsRequest {
  readonly source: FunctionLogSource;
  /** Milliseconds since the epoch. */
  readonly startTime: number;
  /** A CloudWatch Logs filter pattern. @default - every event */
  readonly filterPattern?: string;
  readonly signal?: AbortSignal;
}

/**
 * Every event of the function from `startTime` on, in time order (all pages of FilterLogEvents).
 *
 * @throws LogGroupNotFoundError when the group does not exist; CliError, UnreachableError
 */
export async function* readFunctionLogs(
  client: CloudWatchLogsClient,
  session: Session,
  request: ReadLogsRequest,
): AsyncGenerator<FunctionLogLine> {
  let nextToken: string | undefined;
  do {
    const page = await filterPage(client, session, request, request.startTime, nextToken);
    for (const event of page.events) yield event;
    nextToken = page.nextToken;
  } while (nextToken !== undefined && request.signal?.aborted !== true);
}

async function filterPage(
  client: CloudWatchLogsClient,
  session: Session,
  request: ReadLogsRequest,
  startTime: number,
  nextToken: string | undefined,
): Promise<{ events: FunctionLogLine[]; nextToken: string | undefined }> {
  try {
    const answer = await client.send(
      new FilterLogEventsCommand({
        logGroupName: request.source.logGroupName,
        startTime,
        ...(request.filterPattern === undefined ? {} : { filterPattern: request.filterPattern }),
        ...(nextToken === undefined ? {} : { nextToken }),
      }),
      request.signal === undefined ? {} : { abortSignal: request.signal },
    );
    return {
      events: (answer.events ?? [])
        .map(toLine)
        .filter((event) => isFunctions(request.source, event.logStreamName)),
      nextToken: answer.nextToken,
    };
  } catch (error) {
    if (error instanceof LogGroupMissingException) {
      throw new LogGroupNotFoundError(request.source.logGroupName, { cause: error });
    }
    throw translate(error, session, 'CloudWatch Logs', 'FilterLogEvents');
  }
}

/**
 * Follows the function's events from `startTime` on until `signal` aborts, as `aws logs tail
 * --follow` does: reads every page, then polls FilterLogEvents again every `intervalMs` from the
 * newest timestamp seen, skipping the events already yielded at that timestamp. While the log
 * group does not exist yet, `onWaiting` is called once and polling goes on.
 *
 * @throws CliError, UnreachableError from FilterLogEvents
 */
export async function* followFunctionLogs(
  client: CloudWatchLogsClient,
  session: Session,
  request: ReadLogsRequest & { readonly intervalMs: number; readonly onWaiting?: () => void },
): AsyncGenerator<FunctionLogLine> {
  let startTime = request.startTime;
  let nextToken: string | undefined;
  let seenAtNewest = new Set<string>();
  let newest = -1;
  let waiting = false;
  const stopped = (): boolean => request.signal?.aborted === true;
  while (!stopped()) {
    let page: { events: FunctionLogLine[]; nextToken: string | undefined };
    try {
      page = await filterPage(client, session, request, startTime, nextToken);
    } catch (error) {
      if (stopped()) return;
      if (!(error instanceof LogGroupNotFoundError)) throw error;
      if (!waiting) request.onWaiting?.();
      waiting = true;
      page = { events: [], nextToken: undefined };
    }
    for (const event of page.events) {
      if (event.timestamp < newest || (event.timestamp === newest && seenAtNewest.has(event.eventId)))
        continue;
      if (event.timestamp > newest) {
        newest = event.timestamp;
        seenAtNewest = new Set();
      }
      seenAtNewest.add(event.eventId);
      yield event;
    }
    nextToken = page.nextToken;
    if (nextToken !== undefined) continue;
    if (newest >= 0) startTime = newest;
    try {
      await sleep(
        request.intervalMs,
        undefined,
        request.signal === undefined ? {} : { signal: request.signal },
      );
    } catch {
      return;
    }
  }
}
