/**
 * Where the Lambda emulator sends a function's output: to CloudWatch Logs (the logs emulator),
 * log group `/aws/lambda/<function name>`, one stream per execution environment named as Lambda
 * names it (`YYYY/MM/DD/[<version>]<32 hex>`), with START, the function's lines, END and REPORT.
 */
import {
  CloudWatchLogsClient,
  DescribeLogStreamsCommand,
  FilterLogEventsCommand,
  GetLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  CreateFunctionCommand,
  InvokeCommand,
  LambdaClient,
  PublishVersionCommand,
  waitUntilFunctionActiveV2,
} from '@aws-sdk/client-lambda';
import { strToU8, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningLambdaEmulator, startLambdaEmulator } from '../../local/lambda/index.ts';
import { type RunningLogsEmulator, startLogsEmulator } from '../../local/logs/index.ts';
import { localAccountId, localCredentials, localRegion } from '../../local/net.ts';

const handler = `
export const handler = async (event) => {
  console.log('hello from', process.env.AWS_LAMBDA_LOG_STREAM_NAME);
  console.error('two\\nlines');
  process.stdout.write('raw stdout\\n');
  return { group: process.env.AWS_LAMBDA_LOG_GROUP_NAME, stream: process.env.AWS_LAMBDA_LOG_STREAM_NAME, n: event.n };
};`;

describe('the Lambda emulator writes function output to CloudWatch Logs', () => {
  let logsEmulator: RunningLogsEmulator;
  let lambdaEmulator: RunningLambdaEmulator;
  let lambda: LambdaClient;
  let logs: CloudWatchLogsClient;
  const notices: string[] = [];
  const functionName = `logged-${process.pid}`;
  const group = `/aws/lambda/${functionName}`;

  beforeAll(async () => {
    logsEmulator = await startLogsEmulator();
    lambdaEmulator = await startLambdaEmulator({
      controlPlaneRateLimit: 0,
      transitionMs: 0,
      logSink: (line) => notices.push(line),
      functionLogSink: (event) =>
        logsEmulator.append(event.logGroupName, event.logStreamName, [
          { timestamp: event.timestamp, message: event.message },
        ]),
    });
    const config = { region: localRegion, credentials: localCredentials, maxAttempts: 1 };
    lambda = new LambdaClient({ ...config, endpoint: lambdaEmulator.endpoint });
    logs = new CloudWatchLogsClient({ ...config, endpoint: logsEmulator.endpoint });
    await lambda.send(
      new CreateFunctionCommand({
        FunctionName: functionName,
        Runtime: 'nodejs24.x',
        Handler: 'index.handler',
        Role: `arn:aws:iam::${localAccountId}:role/test`,
        Code: { ZipFile: zipSync({ 'index.mjs': strToU8(handler) }) },
      }),
    );
    await waitUntilFunctionActiveV2(
      { client: lambda, maxWaitTime: 20, minDelay: 1, maxDelay: 1 },
      { FunctionName: functionName },
    );
  });

  afterAll(async () => {
    lambda?.destroy();
    logs?.destroy();
    await lambdaEmulator?.close();
    await logsEmulator?.close();
  });

  const invoke = async (n: number, qualifier?: string) => {
    const answer = await lambda.send(
      new InvokeCommand({
        FunctionName: functionName,
        ...(qualifier === undefined ? {} : { Qualifier: qualifier }),
        Payload: strToU8(JSON.stringify({ n })),
      }),
    );
    return JSON.parse(new TextDecoder().decode(answer.Payload)) as {
      group: string;
      stream: string;
      n: number;
    };
  };

  it('writes START, the output lines and END/REPORT of an invocation to /aws/lambda/<name>, in the stream the function is told', async () => {
    // Act
    const answer = await invoke(1);
    const streams = await logs.send(new DescribeLogStreamsCommand({ logGroupName: group }));
    const events = await logs.send(
      new GetLogEventsCommand({ logGroupName: group, logStreamName: answer.stream, startFromHead: true }),
    );

    // Assess
    expect(answer.group).toBe(group);
    expect(answer.stream).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
    expect(answer.stream.slice(0, 10)).toBe(new Date().toISOString().slice(0, 10).replaceAll('-', '/'));
    expect(streams.logStreams?.map((s) => s.logStreamName)).toEqual([answer.stream]);
    const lines = (events.events ?? []).map((e) => e.message ?? '');
    expect(lines[0]).toMatch(/^START RequestId: [0-9a-f-]{36} Version: \$LATEST$/);
    // stdout and stderr are two pipes: their lines keep their order within each, not between them.
    expect(lines.slice(1, 4)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\S+Z\t[0-9a-f-]{36}\tINFO\thello from \d{4}\/\d{2}\/\d{2}\/\[\$LATEST\]/),
        expect.stringMatching(/\tERROR\ttwo\nlines$/), // one console call, one event
        'raw stdout',
      ]),
    );
    expect(lines[4]).toMatch(/^END RequestId: /);
    expect(lines[5]).toMatch(/^REPORT RequestId: .*\tDuration: [\d.]+ ms\t.*Init Duration: /);
    expect(notices.filter((line) => line.includes('hello from'))).toEqual([]);
  });

  it('keeps a warm process in its stream, and writes a published version to a stream of its own', async () => {
    // Prepare
    const first = await invoke(2);
    const published = await lambda.send(new PublishVersionCommand({ FunctionName: functionName }));

    // Act
    const warm = await invoke(3);
    const versioned = await invoke(4, published.Version);
    const found = await logs.send(
      new FilterLogEventsCommand({ logGroupName: group, filterPattern: '"Version: 1"' }),
    );

    // Assess
    expect(warm.stream).toBe(first.stream);
    expect(versioned.stream).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\[1\][0-9a-f]{32}$/);
    expect(found.events?.map((e) => e.logStreamName)).toEqual([versioned.stream]);
  });
});
