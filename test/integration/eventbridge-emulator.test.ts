import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateEventBusCommand,
  DeleteEventBusCommand,
  DeleteRuleCommand,
  DescribeEventBusCommand,
  DescribeRuleCommand,
  EventBridgeClient,
  EventBridgeServiceException,
  ListEventBusesCommand,
  ListRulesCommand,
  ListTargetsByRuleCommand,
  PutEventsCommand,
  type PutEventsRequestEntry,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  TestEventPatternCommand,
} from '@aws-sdk/client-eventbridge';
import { CreateFunctionCommand, LambdaClient, waitUntilFunctionActiveV2 } from '@aws-sdk/client-lambda';
import { strToU8, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type EventBridgeEvent,
  type RunningEventBridgeEmulator,
  startEventBridgeEmulator,
} from '../../local/eventbridge/index.ts';
import { closeServer, listen, readBody } from '../../local/http.ts';
import { type RunningLambdaEmulator, startLambdaEmulator } from '../../local/lambda/index.ts';
import { localAccountId, localCredentials, localRegion, waitFor } from '../../local/net.ts';

const arnPrefix = `arn:aws:lambda:${localRegion}:${localAccountId}:function:`;
const stateMachineArn = `arn:aws:states:${localRegion}:${localAccountId}:stateMachine:on-epoch`;

/** Stand-ins for Lambda Invoke and Step Functions StartExecution that record what they receive. */
async function startStubs() {
  const invokes: { functionName: string; invocationType: string; payload: unknown }[] = [];
  const executions: { stateMachineArn: string; input: unknown }[] = [];
  let failuresLeft = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const body = (await readBody(req)).toString('utf8');
      const invoke = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(req.url ?? '');
      if (invoke !== null) {
        if (failuresLeft > 0) {
          failuresLeft--;
          res.writeHead(500, { 'content-type': 'application/json', 'x-amzn-errortype': 'ServiceException' });
          res.end(JSON.stringify({ Type: 'Service', message: 'injected failure' }));
          return;
        }
        invokes.push({
          functionName: decodeURIComponent(invoke[1] ?? ''),
          invocationType: String(req.headers['x-amz-invocation-type']),
          payload: JSON.parse(body),
        });
        res.writeHead(202, { 'content-type': 'application/json' });
        res.end();
        return;
      }
      if (req.headers['x-amz-target'] === 'AWSStepFunctions.StartExecution') {
        const input = JSON.parse(body) as { stateMachineArn: string; input: string };
        executions.push({ stateMachineArn: input.stateMachineArn, input: JSON.parse(input.input) });
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(JSON.stringify({ executionArn: `${input.stateMachineArn}:x`, startDate: Date.now() / 1000 }));
        return;
      }
      res.writeHead(404);
      res.end();
    })();
  });
  const endpoint = await listen(server);
  return {
    endpoint,
    invokes,
    executions,
    failNext(count: number) {
      failuresLeft = count;
    },
    close: () => closeServer(server),
  };
}

async function failure(promise: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (!(error instanceof EventBridgeServiceException)) throw error;
    return { name: error.name, message: error.message };
  }
  throw new Error('expected the call to fail');
}

function entry(detail: unknown, extra: Partial<PutEventsRequestEntry> = {}): PutEventsRequestEntry {
  return {
    Source: 'greco.control-plane',
    DetailType: 'Epoch Activated',
    Detail: JSON.stringify(detail),
    ...extra,
  };
}

describe('local EventBridge emulator through the real EventBridgeClient', () => {
  let stubs: Awaited<ReturnType<typeof startStubs>>;
  let eventbridge: RunningEventBridgeEmulator;
  let client: EventBridgeClient;
  let scratch: string;
  const notices: string[] = [];
  const seen: { event: EventBridgeEvent; bus: string }[] = [];
  let unsubscribe: () => void;
  let counter = 0;
  const unique = (prefix: string) => `${prefix}-${++counter}`;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'greco-eventbridge-'));
    stubs = await startStubs();
    eventbridge = await startEventBridgeEmulator({
      lambdaEndpoint: stubs.endpoint,
      stepFunctionsEndpoint: stubs.endpoint,
      tailFile: join(scratch, 'tail.jsonl'),
      retryDelaysMs: [10, 10],
      logSink: (line) => notices.push(line),
    });
    unsubscribe = eventbridge.subscribe((event, meta) => seen.push({ event, bus: meta.eventBusName }));
    client = new EventBridgeClient({
      endpoint: eventbridge.endpoint,
      region: localRegion,
      credentials: localCredentials,
    });
  });

  afterAll(async () => {
    unsubscribe?.();
    client?.destroy();
    await eventbridge?.close();
    await stubs?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  describe('event buses', () => {
    it('always has the default bus and creates, describes, lists and deletes others', async () => {
      const Name = unique('bus');
      const created = await client.send(new CreateEventBusCommand({ Name, Description: 'test bus' }));
      expect(created.EventBusArn).toBe(`arn:aws:events:${localRegion}:${localAccountId}:event-bus/${Name}`);
      const described = await client.send(new DescribeEventBusCommand({ Name }));
      expect(described).toMatchObject({ Name, Arn: created.EventBusArn, Description: 'test bus' });
      expect(described.CreationTime).toBeInstanceOf(Date);
      const byArn = await client.send(new DescribeEventBusCommand({ Name: created.EventBusArn }));
      expect(byArn.Name).toBe(Name);
      const defaultBus = await client.send(new DescribeEventBusCommand({}));
      expect(defaultBus.Name).toBe('default');
      const listed = await client.send(new ListEventBusesCommand({}));
      expect(listed.EventBuses?.map((b) => b.Name)).toEqual(expect.arrayContaining(['default', Name]));
      await client.send(new DeleteEventBusCommand({ Name }));
      expect(await failure(client.send(new DescribeEventBusCommand({ Name })))).toEqual({
        name: 'ResourceNotFoundException',
        message: `Event bus ${Name} does not exist.`,
      });
    });

    it('refuses a duplicate bus, an invalid name, and deleting the default bus', async () => {
      const Name = unique('bus');
      await client.send(new CreateEventBusCommand({ Name }));
      expect((await failure(client.send(new CreateEventBusCommand({ Name })))).name).toBe(
        'ResourceAlreadyExistsException',
      );
      expect((await failure(client.send(new CreateEventBusCommand({ Name: 'bad name' })))).name).toBe(
        'ValidationException',
      );
      expect(await failure(client.send(new DeleteEventBusCommand({ Name: 'default' })))).toEqual({
        name: 'ValidationException',
        message: 'Cannot delete event bus default.',
      });
    });

    it('pages ListEventBuses with NextToken', async () => {
      const prefix = unique('paged');
      for (const n of [1, 2, 3]) await client.send(new CreateEventBusCommand({ Name: `${prefix}-${n}` }));
      const first = await client.send(new ListEventBusesCommand({ NamePrefix: prefix, Limit: 2 }));
      expect(first.EventBuses?.map((b) => b.Name)).toEqual([`${prefix}-1`, `${prefix}-2`]);
      const second = await client.send(
        new ListEventBusesCommand({ NamePrefix: prefix, Limit: 2, NextToken: first.NextToken }),
      );
      expect(second.EventBuses?.map((b) => b.Name)).toEqual([`${prefix}-3`]);
      expect(second.NextToken).toBeUndefined();
    });
  });

  describe('PutEvents', () => {
    it('accepts valid entries and reports each invalid one in place', async () => {
      const bus = unique('bus');
      await client.send(new CreateEventBusCommand({ Name: bus }));
      const before = seen.length;
      const result = await client.send(
        new PutEventsCommand({
          Entries: [
            entry(
              { workspace: 'acme' },
              { EventBusName: bus, Resources: ['arn:x'], Time: new Date('2024-05-01T12:00:00Z') },
            ),
            { DetailType: 'X', Detail: '{}' },
            entry({}, { Detail: '{not json' }),
            entry({}, { Detail: '[1,2]' }),
            entry({}, { EventBusName: 'no-such-bus' }),
            entry({}, { Source: 'aws.lambda' }),
            entry({}, { DetailType: 'x'.repeat(129) }),
          ],
        }),
      );
      expect(result.FailedEntryCount).toBe(6);
      expect(result.Entries?.[0]?.EventId).toMatch(/^[0-9a-f-]{36}$/);
      expect(result.Entries?.slice(1).map((e) => e.ErrorCode)).toEqual([
        'InvalidArgument',
        'MalformedDetail',
        'MalformedDetail',
        'ResourceNotFoundException',
        'NotAuthorizedForSourceException',
        'InvalidArgument',
      ]);
      expect(result.Entries?.[1]?.ErrorMessage).toBe(
        'Parameter Source is not valid. Reason: Source is a required argument.',
      );
      expect(result.Entries?.[4]?.ErrorMessage).toBe('Event bus no-such-bus does not exist.');
      expect(seen.slice(before)).toEqual([
        {
          bus,
          event: {
            version: '0',
            id: result.Entries?.[0]?.EventId,
            'detail-type': 'Epoch Activated',
            source: 'greco.control-plane',
            account: localAccountId,
            time: '2024-05-01T12:00:00Z',
            region: localRegion,
            resources: ['arn:x'],
            detail: { workspace: 'acme' },
          },
        },
      ]);
    });

    it('refuses more than 10 entries with ValidationException', async () => {
      const entries = Array.from({ length: 11 }, () => entry({}));
      expect((await failure(client.send(new PutEventsCommand({ Entries: entries })))).name).toBe(
        'ValidationException',
      );
    });
  });

  describe('rules and targets', () => {
    it('stores, describes, lists and deletes rules', async () => {
      const bus = unique('bus');
      await client.send(new CreateEventBusCommand({ Name: bus }));
      const Name = unique('rule');
      const EventPattern = JSON.stringify({ source: ['greco.control-plane'] });
      const put = await client.send(
        new PutRuleCommand({ Name, EventBusName: bus, EventPattern, Description: 'd' }),
      );
      expect(put.RuleArn).toBe(`arn:aws:events:${localRegion}:${localAccountId}:rule/${bus}/${Name}`);
      expect(await client.send(new DescribeRuleCommand({ Name, EventBusName: bus }))).toMatchObject({
        Name,
        Arn: put.RuleArn,
        EventBusName: bus,
        EventPattern,
        State: 'ENABLED',
        Description: 'd',
      });
      const listed = await client.send(new ListRulesCommand({ EventBusName: bus }));
      expect(listed.Rules?.map((r) => r.Name)).toEqual([Name]);
      await client.send(
        new PutTargetsCommand({
          Rule: Name,
          EventBusName: bus,
          Targets: [{ Id: 't', Arn: `${arnPrefix}fn` }],
        }),
      );
      expect(await failure(client.send(new DeleteRuleCommand({ Name, EventBusName: bus })))).toEqual({
        name: 'ValidationException',
        message: "Rule can't be deleted since it has targets.",
      });
      await client.send(new RemoveTargetsCommand({ Rule: Name, EventBusName: bus, Ids: ['t'] }));
      await client.send(new DeleteRuleCommand({ Name, EventBusName: bus }));
      expect((await failure(client.send(new DescribeRuleCommand({ Name, EventBusName: bus })))).name).toBe(
        'ResourceNotFoundException',
      );
    });

    it('refuses an invalid pattern with InvalidEventPatternException and a rule without pattern or schedule', async () => {
      const bad = await failure(
        client.send(new PutRuleCommand({ Name: unique('rule'), EventPattern: '{"source":"x"}' })),
      );
      expect(bad).toEqual({
        name: 'InvalidEventPatternException',
        message: 'Event pattern is not valid. Reason: "source" must be an object or an array',
      });
      expect((await failure(client.send(new PutRuleCommand({ Name: unique('rule') })))).name).toBe(
        'ValidationException',
      );
    });

    it('stores a schedule without running it, and says so', async () => {
      const Name = unique('scheduled');
      await client.send(new PutRuleCommand({ Name, ScheduleExpression: 'rate(5 minutes)' }));
      expect((await client.send(new DescribeRuleCommand({ Name }))).ScheduleExpression).toBe(
        'rate(5 minutes)',
      );
      expect(notices.some((line) => line.includes(Name) && line.includes('not run locally'))).toBe(true);
    });

    it('refuses targets it cannot deliver to, naming them', async () => {
      const Name = unique('rule');
      await client.send(new PutRuleCommand({ Name, EventPattern: '{"source":["x"]}' }));
      const result = await client.send(
        new PutTargetsCommand({
          Rule: Name,
          Targets: [
            { Id: 'queue', Arn: `arn:aws:sqs:${localRegion}:${localAccountId}:q` },
            { Id: 'fn', Arn: `${arnPrefix}fn` },
          ],
        }),
      );
      expect(result.FailedEntryCount).toBe(1);
      expect(result.FailedEntries?.[0]).toMatchObject({
        TargetId: 'queue',
        ErrorCode: 'ValidationException',
      });
      const targets = await client.send(new ListTargetsByRuleCommand({ Rule: Name }));
      expect(targets.Targets?.map((t) => t.Id)).toEqual(['fn']);
      expect(
        (
          await failure(
            client.send(
              new PutTargetsCommand({
                Rule: Name,
                Targets: [{ Id: 'two', Arn: `${arnPrefix}fn`, Input: '{}', InputPath: '$' }],
              }),
            ),
          )
        ).name,
      ).toBe('ValidationException');
    });

    it('delivers matching events to Lambda (async Invoke) and Step Functions targets, shaping their input', async () => {
      const bus = unique('bus');
      await client.send(new CreateEventBusCommand({ Name: bus }));
      const Name = unique('rule');
      await client.send(
        new PutRuleCommand({
          Name,
          EventBusName: bus,
          EventPattern: JSON.stringify({
            'detail-type': ['Epoch Activated'],
            detail: { epoch: [{ numeric: ['>', 0] }] },
          }),
        }),
      );
      const fn = unique('fn');
      await client.send(
        new PutTargetsCommand({
          Rule: Name,
          EventBusName: bus,
          Targets: [
            { Id: 'whole', Arn: `${arnPrefix}${fn}` },
            { Id: 'path', Arn: `${arnPrefix}${fn}-path`, InputPath: '$.detail' },
            { Id: 'fixed', Arn: `${arnPrefix}${fn}-fixed`, Input: '{"fixed":1}' },
            {
              Id: 'sfn',
              Arn: stateMachineArn,
              InputTransformer: {
                InputPathsMap: { ws: '$.detail.workspace', epoch: '$.detail.epoch' },
                InputTemplate: '{"workspace": "<ws>", "epoch": <epoch>, "rule": "<aws.events.rule-name>"}',
              },
            },
          ],
        }),
      );
      const before = eventbridge.deliveryStats();
      await client.send(
        new PutEventsCommand({ Entries: [entry({ workspace: 'acme', epoch: 0 }, { EventBusName: bus })] }),
      );
      const afterMiss = eventbridge.deliveryStats();
      expect(afterMiss.delivered + afterMiss.pending + afterMiss.failed).toBe(
        before.delivered + before.pending + before.failed,
      );

      const put = await client.send(
        new PutEventsCommand({ Entries: [entry({ workspace: 'acme', epoch: 3 }, { EventBusName: bus })] }),
      );
      const eventId = put.Entries?.[0]?.EventId;
      const mine = () => stubs.invokes.filter((i) => i.functionName.includes(fn));
      await waitFor(
        () => mine().length === 3 && stubs.executions.some((e) => JSON.stringify(e.input).includes(Name)),
        {
          what: 'the four deliveries',
        },
      );
      const byName = Object.fromEntries(mine().map((i) => [i.functionName, i]));
      expect(byName[`${arnPrefix}${fn}`]).toMatchObject({
        invocationType: 'Event',
        payload: { id: eventId, detail: { epoch: 3 } },
      });
      expect(byName[`${arnPrefix}${fn}-path`]?.payload).toEqual({ workspace: 'acme', epoch: 3 });
      expect(byName[`${arnPrefix}${fn}-fixed`]?.payload).toEqual({ fixed: 1 });
      expect(stubs.executions.find((e) => JSON.stringify(e.input).includes(Name))).toEqual({
        stateMachineArn,
        input: { workspace: 'acme', epoch: 3, rule: Name },
      });
    });

    it('does not deliver through a disabled rule', async () => {
      const Name = unique('rule');
      await client.send(
        new PutRuleCommand({ Name, EventPattern: '{"source":["greco.disabled"]}', State: 'DISABLED' }),
      );
      await client.send(
        new PutTargetsCommand({ Rule: Name, Targets: [{ Id: 'fn', Arn: `${arnPrefix}disabled` }] }),
      );
      const before = eventbridge.deliveryStats();
      const put = await client.send(
        new PutEventsCommand({ Entries: [entry({}, { Source: 'greco.disabled' })] }),
      );
      expect(put.FailedEntryCount).toBe(0);
      const after = eventbridge.deliveryStats();
      expect(after.delivered + after.pending + after.failed).toBe(
        before.delivered + before.pending + before.failed,
      );
    });

    it('retries a failed delivery', async () => {
      const Name = unique('rule');
      const fn = unique('flaky');
      await client.send(
        new PutRuleCommand({ Name, EventPattern: JSON.stringify({ detail: { flaky: [fn] } }) }),
      );
      await client.send(
        new PutTargetsCommand({ Rule: Name, Targets: [{ Id: 'fn', Arn: `${arnPrefix}${fn}` }] }),
      );
      stubs.failNext(1);
      await client.send(new PutEventsCommand({ Entries: [entry({ flaky: fn })] }));
      await waitFor(() => stubs.invokes.some((i) => i.functionName.endsWith(fn)), {
        what: 'the retried delivery',
      });
    });

    it('forwards events to another bus when a bus is the target', async () => {
      const target = unique('bus');
      await client.send(new CreateEventBusCommand({ Name: target }));
      const Name = unique('rule');
      await client.send(
        new PutRuleCommand({ Name, EventPattern: JSON.stringify({ detail: { forward: [Name] } }) }),
      );
      await client.send(
        new PutTargetsCommand({
          Rule: Name,
          Targets: [
            { Id: 'bus', Arn: `arn:aws:events:${localRegion}:${localAccountId}:event-bus/${target}` },
          ],
        }),
      );
      await client.send(new PutEventsCommand({ Entries: [entry({ forward: Name })] }));
      await waitFor(() => seen.some((s) => s.bus === target), { what: 'the forwarded event' });
    });

    it('answers TestEventPattern', async () => {
      const event = JSON.stringify({
        id: '1',
        account: localAccountId,
        source: 'greco.control-plane',
        time: '2024-05-01T12:00:00Z',
        region: localRegion,
        resources: [],
        'detail-type': 'x',
        detail: { n: 5 },
      });
      const yes = await client.send(
        new TestEventPatternCommand({ EventPattern: '{"detail":{"n":[{"numeric":[">",1]}]}}', Event: event }),
      );
      const no = await client.send(
        new TestEventPatternCommand({ EventPattern: '{"detail":{"n":[1]}}', Event: event }),
      );
      expect([yes.Result, no.Result]).toEqual([true, false]);
    });
  });

  describe('tail', () => {
    it('streams every accepted event as NDJSON and appends it to the tail file', async () => {
      const bus = unique('bus');
      await client.send(new CreateEventBusCommand({ Name: bus }));
      const controller = new AbortController();
      const response = await fetch(`${eventbridge.endpoint}/_greco/tail?eventBusName=${bus}`, {
        signal: controller.signal,
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('application/x-ndjson');
      const reader = response.body?.getReader();
      if (reader === undefined) throw new Error('the tail has no body');
      const put = await client.send(
        new PutEventsCommand({
          Entries: [
            entry({ n: 1 }, { EventBusName: bus }),
            entry({ n: 2 }, { EventBusName: bus }),
            entry({ other: true }),
          ],
        }),
      );
      let text = '';
      while (text.split('\n').length < 3) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      controller.abort();
      const lines = text
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as EventBridgeEvent);
      expect(lines.map((e) => e.id)).toEqual([put.Entries?.[0]?.EventId, put.Entries?.[1]?.EventId]);
      expect(lines.map((e) => e.detail)).toEqual([{ n: 1 }, { n: 2 }]);

      const fileIds = await waitFor(
        () => {
          const ids = readFileSync(join(scratch, 'tail.jsonl'), 'utf8')
            .trim()
            .split('\n')
            .map((line) => (JSON.parse(line) as EventBridgeEvent).id);
          return put.Entries?.every((e) => ids.includes(e.EventId ?? '')) ? ids : undefined;
        },
        { what: 'the tail file' },
      );
      expect(fileIds.length).toBeGreaterThanOrEqual(3);
    });
  });
});

describe('local EventBridge delivering to the Lambda emulator', () => {
  let lambdaEmulator: RunningLambdaEmulator;
  let eventbridge: RunningEventBridgeEmulator;
  let client: EventBridgeClient;
  let lambda: LambdaClient;
  let scratch: string;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'greco-eventbridge-lambda-'));
    lambdaEmulator = await startLambdaEmulator({
      controlPlaneRateLimit: 0,
      transitionMs: 0,
      functionEnvironment: { SCRATCH: scratch },
      logSink: () => {},
    });
    lambda = new LambdaClient({
      endpoint: lambdaEmulator.endpoint,
      region: localRegion,
      credentials: localCredentials,
    });
    eventbridge = await startEventBridgeEmulator({
      lambdaEndpoint: lambdaEmulator.endpoint,
      logSink: () => {},
    });
    client = new EventBridgeClient({
      endpoint: eventbridge.endpoint,
      region: localRegion,
      credentials: localCredentials,
    });
  });

  afterAll(async () => {
    client?.destroy();
    lambda?.destroy();
    await eventbridge?.close();
    await lambdaEmulator?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('runs the target function with the event', async () => {
    const source = `import { writeFileSync } from 'node:fs';
      export const handler = async (event) => { writeFileSync(process.env.SCRATCH + '/' + event.id + '.json', JSON.stringify(event)); };`;
    await lambda.send(
      new CreateFunctionCommand({
        FunctionName: 'on-event',
        Runtime: 'nodejs24.x',
        Role: `arn:aws:iam::${localAccountId}:role/greco-test`,
        Handler: 'index.handler',
        Code: { ZipFile: zipSync({ 'index.mjs': strToU8(source) }) },
      }),
    );
    await waitUntilFunctionActiveV2(
      { client: lambda, maxWaitTime: 20, minDelay: 1, maxDelay: 1 },
      { FunctionName: 'on-event' },
    );
    await client.send(
      new PutRuleCommand({ Name: 'to-lambda', EventPattern: '{"source":["greco.control-plane"]}' }),
    );
    await client.send(
      new PutTargetsCommand({ Rule: 'to-lambda', Targets: [{ Id: 'fn', Arn: `${arnPrefix}on-event` }] }),
    );
    const put = await client.send(new PutEventsCommand({ Entries: [entry({ workspace: 'acme' })] }));
    const id = put.Entries?.[0]?.EventId ?? '';
    const written = await waitFor(
      () => {
        try {
          return JSON.parse(readFileSync(join(scratch, `${id}.json`), 'utf8')) as EventBridgeEvent;
        } catch {
          return undefined;
        }
      },
      { what: 'the function to record the event', timeoutMs: 20_000 },
    );
    expect(written).toMatchObject({ id, source: 'greco.control-plane', detail: { workspace: 'acme' } });
  });
});
