import { managedFunctionName } from '../../domain/names.ts';
import type { Command } from '../command.ts';
import { parseCommandArgs } from '../command.ts';
import { loadSession } from '../context.ts';
import { UsageError } from '../errors.ts';
import {
  type FunctionLogLine,
  followFunctionLogs,
  functionLogSource,
  logsClientFor,
  parseSince,
  readFunctionLogs,
} from '../logs.ts';
import { lambdaClientFor } from './invoke.ts';

/** Between two polls of `--follow`: 1 s on the local cloud; 5 s on AWS, as `aws logs tail --follow` (FilterLogEvents has a quota of 5 requests/s per account and Region). */
const followIntervalMs = { local: 1000, aws: 5000 } as const;

/** `greco logs NAME [--follow] [--since 10m]`: a function's output, from CloudWatch Logs. */
export const logs: Command = {
  name: 'logs',
  summary:
    "print a function's logs from CloudWatch Logs (START/END/REPORT and its output); --follow keeps polling",
  usage: `Usage: greco logs NAME [--since 10m] [--follow] [--filter PATTERN] [--json]

Prints the log events of <prefix>-<workspace>-NAME from CloudWatch Logs, where Lambda sends a
function's output (log group /aws/lambda/<function name>, or the group of its LoggingConfig):
START, END and REPORT lines of every invocation and what the function wrote (console.log,
stdout, stderr), oldest first, one per line: <ISO time> <message>. On the local cloud they come
from its CloudWatch Logs emulator; on AWS, with your AWS credentials (logs:FilterLogEvents, and
lambda:GetFunction to find the group) and the --region of greco login.

Options:
  --since WHEN      from when: 30s, 10m, 2h, 1d, 1w before now, or an ISO 8601 time (default 10m)
  --follow          keep polling for new events until Ctrl-C (waits for the first invocation)
  --filter PATTERN  a CloudWatch Logs filter pattern: terms, "a phrase", ?any -none
  --json            one event per line as JSON: {timestamp, message, logStreamName, eventId}
`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs(
      'logs',
      args,
      {
        since: { type: 'string', default: '10m' },
        follow: { type: 'boolean', default: false },
        filter: { type: 'string' },
      },
      true,
    );
    const name = positionals[0];
    if (name === undefined || positionals.length > 1) {
      throw new UsageError('logs: give one function NAME (see greco logs --help)');
    }
    const startTime = parseSince(values.since, Date.now());
    const session = await loadSession(ctx);
    const lambda = lambdaClientFor(session);
    const client = logsClientFor(session);
    const print = (line: FunctionLogLine): void =>
      ctx.io.out(
        ctx.json
          ? `${JSON.stringify(line)}\n`
          : `${new Date(line.timestamp).toISOString()} ${line.message}\n`,
      );
    try {
      const source = await functionLogSource(
        lambda,
        session,
        name,
        managedFunctionName(session.managedPrefix, session.workspace, name),
      );
      const request = {
        source,
        startTime,
        ...(values.filter === undefined ? {} : { filterPattern: values.filter }),
        ...(ctx.signal === undefined ? {} : { signal: ctx.signal }),
      };
      const events = values.follow
        ? followFunctionLogs(client, session, {
            ...request,
            intervalMs: ctx.pollIntervalMs ?? followIntervalMs[session.kind],
            onWaiting: () =>
              ctx.io.err(
                `waiting for ${name}'s first invocation (its log group ${source.logGroupName} does not exist yet)\n`,
              ),
          })
        : readFunctionLogs(client, session, request);
      for await (const line of events) print(line);
      return 0;
    } finally {
      lambda.destroy();
      client.destroy();
    }
  },
};
