/**
 * The CloudWatch Logs emulator through the real SDK client (`@aws-sdk/client-cloudwatch-logs`):
 * groups and streams, PutLogEvents, GetLogEvents, FilterLogEvents (patterns, prefixes, time
 * windows, pagination) and the polling `aws logs tail --follow` does, plus the errors the SDK
 * raises as its own exception classes.
 */
import { randomUUID } from 'node:crypto';
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  DeleteLogGroupCommand,
  DescribeLogGroupsCommand,
  DescribeLogStreamsCommand,
  type FilteredLogEvent,
  FilterLogEventsCommand,
  GetLogEventsCommand,
  InvalidParameterException,
  PutLogEventsCommand,
  paginateFilterLogEvents,
  paginateGetLogEvents,
  ResourceAlreadyExistsException,
  ResourceNotFoundException,
} from '@aws-sdk/client-cloudwatch-logs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningLogsEmulator, startLogsEmulator } from '../../local/logs/index.ts';
import { localCredentials, localRegion } from '../../local/net.ts';

let logs: RunningLogsEmulator;
let client: CloudWatchLogsClient;

beforeAll(async () => {
  logs = await startLogsEmulator();
  client = new CloudWatchLogsClient({
    endpoint: logs.endpoint,
    region: localRegion,
    credentials: localCredentials,
    maxAttempts: 1,
  });
});

afterAll(async () => {
  client?.destroy();
  await logs?.close();
});

/** A fresh group with the given streams, for one test. */
async function group(...streams: string[]): Promise<string> {
  const name = `/test/${randomUUID()}`;
  await client.send(new CreateLogGroupCommand({ logGroupName: name }));
  for (const stream of streams) {
    await client.send(new CreateLogStreamCommand({ logGroupName: name, logStreamName: stream }));
  }
  return name;
}

async function put(logGroupName: string, logStreamName: string, events: [number, string][]): Promise<void> {
  await client.send(
    new PutLogEventsCommand({
      logGroupName,
      logStreamName,
      logEvents: events.map(([timestamp, message]) => ({ timestamp, message })),
    }),
  );
}

const messages = (events: FilteredLogEvent[] | undefined): string[] =>
  (events ?? []).map((e) => e.message ?? '');

describe('the CloudWatch Logs emulator', () => {
  it('stores events with PutLogEvents and returns them in time order with GetLogEvents', async () => {
    // Prepare
    const now = Date.now();
    const name = await group('s1');

    // Act
    await put(name, 's1', [
      [now - 3000, 'first'],
      [now - 2000, 'second'],
    ]);
    await put(name, 's1', [[now - 2500, 'late, but older']]);
    const head = await client.send(
      new GetLogEventsCommand({ logGroupName: name, logStreamName: 's1', startFromHead: true }),
    );
    const newest = await client.send(
      new GetLogEventsCommand({ logGroupName: name, logStreamName: 's1', limit: 1 }),
    );

    // Assess
    expect(head.events?.map((e) => e.message)).toEqual(['first', 'late, but older', 'second']);
    expect(head.events?.[0]).toMatchObject({ timestamp: now - 3000 });
    expect(head.events?.[0]?.ingestionTime).toBeGreaterThanOrEqual(now);
    expect(newest.events?.map((e) => e.message)).toEqual(['second']);
  });

  it('pages GetLogEvents forwards with nextForwardToken, which comes back unchanged at the end', async () => {
    // Prepare
    const now = Date.now();
    const name = await group('s');
    await put(
      name,
      's',
      Array.from({ length: 5 }, (_, i): [number, string] => [now - 5000 + i, `e${i}`]),
    );

    // Act
    const pages: string[][] = [];
    for await (const page of paginateGetLogEvents(
      // As on AWS, the SDK stops when the token comes back unchanged only when told to.
      { client, pageSize: 2, stopOnSameToken: true },
      { logGroupName: name, logStreamName: 's', startFromHead: true },
    )) {
      pages.push((page.events ?? []).map((e) => e.message ?? ''));
    }
    const last = await client.send(
      new GetLogEventsCommand({ logGroupName: name, logStreamName: 's', startFromHead: true, limit: 10 }),
    );
    const again = await client.send(
      new GetLogEventsCommand({ logGroupName: name, logStreamName: 's', nextToken: last.nextForwardToken }),
    );

    // Assess
    expect(pages.flat()).toEqual(['e0', 'e1', 'e2', 'e3', 'e4']);
    expect(pages[0]).toEqual(['e0', 'e1']);
    expect(again.events).toEqual([]);
    expect(again.nextForwardToken).toBe(last.nextForwardToken);
  });

  it('filters events across streams by terms, quoted phrases, ?any and -none, interleaved in time order', async () => {
    // Prepare
    const now = Date.now();
    const name = await group('a', 'b');
    await put(name, 'a', [
      [now - 4000, 'ERROR disk full'],
      [now - 2000, 'INFO Task timed out after 3.00 seconds'],
    ]);
    await put(name, 'b', [
      [now - 3000, 'WARN retrying'],
      [now - 1000, 'ERROR Retrying in 1 s'],
    ]);
    const filter = async (filterPattern?: string) =>
      messages(
        (
          await client.send(
            new FilterLogEventsCommand({
              logGroupName: name,
              ...(filterPattern === undefined ? {} : { filterPattern }),
            }),
          )
        ).events,
      );

    // Act + Assess
    expect(await filter()).toEqual([
      'ERROR disk full',
      'WARN retrying',
      'INFO Task timed out after 3.00 seconds',
      'ERROR Retrying in 1 s',
    ]);
    expect(await filter('ERROR')).toEqual(['ERROR disk full', 'ERROR Retrying in 1 s']);
    expect(await filter('ERROR disk')).toEqual(['ERROR disk full']);
    expect(await filter('"timed out after"')).toEqual(['INFO Task timed out after 3.00 seconds']);
    expect(await filter('?WARN ?disk')).toEqual(['ERROR disk full', 'WARN retrying']);
    expect(await filter('ERROR -Retrying')).toEqual(['ERROR disk full']);
    expect(await filter('error')).toEqual([]);
    const events = (
      await client.send(new FilterLogEventsCommand({ logGroupName: name, filterPattern: 'WARN' }))
    ).events;
    expect(events?.[0]).toMatchObject({ logStreamName: 'b', timestamp: now - 3000 });
    expect(events?.[0]?.eventId).toMatch(/^\d+$/);
  });

  it('filters by logStreamNamePrefix, logStreamNames, and startTime / endTime (both inclusive)', async () => {
    // Prepare
    const t = Date.now() - 10_000;
    const name = await group('2025/01/01/[$LATEST]aa', '2025/01/01/[1]bb', 'other');
    await put(name, '2025/01/01/[$LATEST]aa', [
      [t, 'latest 0'],
      [t + 10, 'latest 10'],
    ]);
    await put(name, '2025/01/01/[1]bb', [[t + 20, 'version 1']]);
    await put(name, 'other', [[t + 30, 'other']]);
    const filter = async (input: Record<string, unknown>) =>
      messages((await client.send(new FilterLogEventsCommand({ logGroupName: name, ...input }))).events);

    // Act + Assess
    expect(await filter({ logStreamNamePrefix: '2025/01/01/' })).toEqual([
      'latest 0',
      'latest 10',
      'version 1',
    ]);
    expect(await filter({ logStreamNames: ['other', '2025/01/01/[1]bb'] })).toEqual(['version 1', 'other']);
    expect(await filter({ startTime: t + 10, endTime: t + 20 })).toEqual(['latest 10', 'version 1']);
    await expect(
      client.send(
        new FilterLogEventsCommand({
          logGroupName: name,
          logStreamNames: ['other'],
          logStreamNamePrefix: 'o',
        }),
      ),
    ).rejects.toBeInstanceOf(InvalidParameterException);
  });

  it('pages FilterLogEvents with limit and nextToken, every event once, in order', async () => {
    // Prepare
    const now = Date.now() - 60_000;
    const name = await group('x', 'y');
    await put(
      name,
      'x',
      Array.from({ length: 7 }, (_, i): [number, string] => [now + 2 * i, `x${i}`]),
    );
    await put(
      name,
      'y',
      Array.from({ length: 6 }, (_, i): [number, string] => [now + 2 * i + 1, `y${i}`]),
    );

    // Act
    const pages: string[][] = [];
    for await (const page of paginateFilterLogEvents({ client, pageSize: 4 }, { logGroupName: name })) {
      pages.push(messages(page.events));
    }

    // Assess
    expect(pages.map((page) => page.length)).toEqual([4, 4, 4, 1]);
    expect(pages.flat()).toEqual([
      'x0',
      'y0',
      'x1',
      'y1',
      'x2',
      'y2',
      'x3',
      'y3',
      'x4',
      'y4',
      'x5',
      'y5',
      'x6',
    ]);
    await expect(
      client.send(new FilterLogEventsCommand({ logGroupName: name, nextToken: 'not-a-token' })),
    ).rejects.toBeInstanceOf(InvalidParameterException);
  });

  it('serves follow-style polling: from the newest timestamp seen, new events and nothing twice', async () => {
    // Prepare: what `aws logs tail --follow` does, one poll at a time.
    const t = Date.now() - 30_000;
    const name = await group('s');
    await put(name, 's', [
      [t, 'one'],
      [t + 5, 'two'],
    ]);
    const seen = new Map<string, string>();
    let startTime = t - 1000;
    const poll = async (): Promise<string[]> => {
      const page = await client.send(new FilterLogEventsCommand({ logGroupName: name, startTime }));
      const fresh = (page.events ?? []).filter((e) => !seen.has(e.eventId ?? ''));
      for (const event of fresh) seen.set(event.eventId ?? '', event.message ?? '');
      startTime = Math.max(startTime, ...fresh.map((e) => e.timestamp ?? 0));
      return messages(fresh);
    };

    // Act + Assess
    expect(await poll()).toEqual(['one', 'two']);
    expect(await poll()).toEqual([]);
    await put(name, 's', [
      [t + 5, 'three, same millisecond as two'],
      [t + 9, 'four'],
    ]);
    expect(await poll()).toEqual(['three, same millisecond as two', 'four']);
    logs.append(name, 'from-lambda', [{ timestamp: t + 12, message: 'five, appended in process' }]);
    expect(await poll()).toEqual(['five, appended in process']);
    expect(await poll()).toEqual([]);
  });

  it('describes log groups by prefix with pagination, and streams by name or by last event time', async () => {
    // Prepare
    const prefix = `/describe/${randomUUID()}/`;
    for (const suffix of ['c', 'a', 'b']) {
      await client.send(new CreateLogGroupCommand({ logGroupName: `${prefix}${suffix}` }));
    }
    const now = Date.now();
    await client.send(new CreateLogStreamCommand({ logGroupName: `${prefix}a`, logStreamName: 'old' }));
    await client.send(new CreateLogStreamCommand({ logGroupName: `${prefix}a`, logStreamName: 'new' }));
    await put(`${prefix}a`, 'old', [[now - 5000, 'x']]);
    await put(`${prefix}a`, 'new', [[now - 1000, 'y']]);

    // Act
    const first = await client.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: prefix, limit: 2 }));
    const second = await client.send(
      new DescribeLogGroupsCommand({ logGroupNamePrefix: prefix, limit: 2, nextToken: first.nextToken }),
    );
    const byName = await client.send(new DescribeLogStreamsCommand({ logGroupName: `${prefix}a` }));
    const byTime = await client.send(
      new DescribeLogStreamsCommand({
        logGroupName: `${prefix}a`,
        orderBy: 'LastEventTime',
        descending: true,
      }),
    );

    // Assess
    expect(first.logGroups?.map((g) => g.logGroupName)).toEqual([`${prefix}a`, `${prefix}b`]);
    expect(second.logGroups?.map((g) => g.logGroupName)).toEqual([`${prefix}c`]);
    expect(second.nextToken).toBeUndefined();
    expect(first.logGroups?.[0]?.arn).toBe(`arn:aws:logs:us-east-1:000000000000:log-group:${prefix}a:*`);
    expect(byName.logStreams?.map((s) => s.logStreamName)).toEqual(['new', 'old']);
    expect(byTime.logStreams?.map((s) => s.logStreamName)).toEqual(['new', 'old']);
    expect(byTime.logStreams?.[1]).toMatchObject({
      firstEventTimestamp: now - 5000,
      lastEventTimestamp: now - 5000,
    });
  });

  it('refuses what CloudWatch Logs refuses, with its exception classes', async () => {
    // Prepare
    const name = await group('s');
    const now = Date.now();

    // Act + Assess
    await expect(client.send(new CreateLogGroupCommand({ logGroupName: name }))).rejects.toBeInstanceOf(
      ResourceAlreadyExistsException,
    );
    await expect(
      client.send(new CreateLogStreamCommand({ logGroupName: name, logStreamName: 's' })),
    ).rejects.toBeInstanceOf(ResourceAlreadyExistsException);
    await expect(
      client.send(new FilterLogEventsCommand({ logGroupName: '/no/such/group' })),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(
      client.send(
        new PutLogEventsCommand({
          logGroupName: name,
          logStreamName: 'missing',
          logEvents: [{ timestamp: now, message: 'x' }],
        }),
      ),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);
    const unordered = client.send(
      new PutLogEventsCommand({
        logGroupName: name,
        logStreamName: 's',
        logEvents: [
          { timestamp: now, message: 'b' },
          { timestamp: now - 1, message: 'a' },
        ],
      }),
    );
    await expect(unordered).rejects.toBeInstanceOf(InvalidParameterException);
    await expect(unordered).rejects.toThrow(/chronological order/);
    await expect(
      client.send(new FilterLogEventsCommand({ logGroupName: name, filterPattern: '{ $.level = "ERROR" }' })),
    ).rejects.toThrow(/JSON .* not supported/);
    await client.send(new DeleteLogGroupCommand({ logGroupName: name }));
    await expect(client.send(new DescribeLogStreamsCommand({ logGroupName: name }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
  });

  it('reports events too old or too new in rejectedLogEventsInfo and keeps the others', async () => {
    // Prepare
    const name = await group('s');
    const now = Date.now();
    const fifteenDaysAgo = now - 15 * 86_400_000;

    // Act
    const old = await client.send(
      new PutLogEventsCommand({
        logGroupName: name,
        logStreamName: 's',
        logEvents: [
          { timestamp: fifteenDaysAgo, message: 'too old' },
          { timestamp: fifteenDaysAgo + 1, message: 'too old too' },
        ],
      }),
    );
    const ahead = await client.send(
      new PutLogEventsCommand({
        logGroupName: name,
        logStreamName: 's',
        logEvents: [
          { timestamp: now, message: 'kept' },
          { timestamp: now + 3 * 3_600_000, message: 'too new' },
        ],
      }),
    );
    const stored = await client.send(new FilterLogEventsCommand({ logGroupName: name }));

    // Assess
    expect(old.rejectedLogEventsInfo).toEqual({ tooOldLogEventEndIndex: 1 });
    expect(ahead.rejectedLogEventsInfo).toEqual({ tooNewLogEventStartIndex: 1 });
    expect(messages(stored.events)).toEqual(['kept']);
  });
});
