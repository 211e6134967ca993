import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateFunctionCommand,
  DeleteFunctionConcurrencyCommand,
  LambdaClient,
  PutFunctionConcurrencyCommand,
} from '@aws-sdk/client-lambda';
import {
  CreateStateMachineCommand,
  DeleteStateMachineCommand,
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  DescribeStateMachineCommand,
  DescribeStateMachineForExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  InvalidArn,
  InvalidDefinition,
  InvalidExecutionInput,
  InvalidName,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  MissingRequiredParameter,
  SFNClient,
  StartExecutionCommand,
  StateMachineAlreadyExists,
  StateMachineDoesNotExist,
  StopExecutionCommand,
  UpdateStateMachineCommand,
} from '@aws-sdk/client-sfn';
import { strToU8, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { closeServer, listen, readBody, sendJson } from '../../local/http.ts';
import { type RunningLambdaEmulator, startLambdaEmulator } from '../../local/lambda/index.ts';
import { localCredentials, localRegion, waitFor } from '../../local/net.ts';
import {
  type RunningStepFunctionsEmulator,
  startStepFunctionsEmulator,
} from '../../local/stepfunctions/index.ts';

// A stub of EventBridge PutEvents (awsJson1_1, X-Amz-Target: AWSEvents.PutEvents) that records entries.
function startEventBridgeStub(received: unknown[]): Server {
  return createServer((req, res) => {
    void (async () => {
      const body = JSON.parse((await readBody(req)).toString('utf8')) as { Entries: { Source?: string }[] };
      received.push(...body.Entries);
      const entries = body.Entries.map((entry) =>
        entry.Source === 'reject.me'
          ? { ErrorCode: 'InternalFailure', ErrorMessage: 'rejected' }
          : { EventId: randomUUID() },
      );
      const failed = entries.filter((entry) => 'ErrorCode' in entry).length;
      sendJson(res, 200, { Entries: entries, FailedEntryCount: failed }, {}, 'application/x-amz-json-1.1');
    })();
  });
}

const roleArn = 'arn:aws:iam::000000000000:role/greco-test';
const lambdaInvoke = 'arn:aws:states:::lambda:invoke';

// The functions the Task states invoke, run by the local Lambda emulator (ESM handlers).
const functionSources = {
  classify: `export const handler = async ({ size }) => ({ kind: size > 10 ? 'big' : 'small', size });`,
  double: `export const handler = async ({ n }) => n * 2;`,
  echo: `export const handler = async (event) => event;`,
  // Fails once per key with TransientError, then succeeds: the marker file survives process reuse or not.
  transientOnce: `import { existsSync, writeFileSync } from 'node:fs';
    import { join } from 'node:path';
    export const handler = async ({ key, markerDir }) => {
      const marker = join(markerDir, key);
      if (!existsSync(marker)) {
        writeFileSync(marker, '');
        const error = new Error('try again');
        error.name = 'TransientError';
        throw error;
      }
      return 'recovered';
    };`,
  rejects: `class ValidationFailed extends Error {
      constructor(message) { super(message); this.name = 'ValidationFailed'; }
    }
    export const handler = async () => { throw new ValidationFailed('memoryMiB must be at least 128'); };`,
  slow: `export const handler = async () => { await new Promise((resolve) => setTimeout(resolve, 3000)); return 'late'; };`,
} as const;
type FunctionKey = keyof typeof functionSources;

describe('local Step Functions emulator', () => {
  const suffix = randomUUID().slice(0, 8);
  const fn = (key: FunctionKey): string => `sfn-${key}-${suffix}`;
  let lambdaEmulator: RunningLambdaEmulator;
  let lambda: LambdaClient;
  const markerDir = mkdtempSync(join(tmpdir(), 'greco-sfn-'));
  const eventsReceived: unknown[] = [];
  const eventBridge = startEventBridgeStub(eventsReceived);
  let emulator: RunningStepFunctionsEmulator;
  let sfn: SFNClient;
  const dynamodb = new DynamoDBClient({
    endpoint: inject('dynamodbEndpoint'),
    region: localRegion,
    credentials: localCredentials,
  });
  const tableName = `sfn-${randomUUID()}`;

  beforeAll(async () => {
    lambdaEmulator = await startLambdaEmulator({
      controlPlaneRateLimit: 0,
      transitionMs: 0,
      logSink: () => {},
    });
    lambda = new LambdaClient({
      endpoint: lambdaEmulator.endpoint,
      region: localRegion,
      credentials: localCredentials,
    });
    for (const [key, source] of Object.entries(functionSources)) {
      await lambda.send(
        new CreateFunctionCommand({
          FunctionName: fn(key as FunctionKey),
          Runtime: 'nodejs24.x',
          Role: roleArn,
          Handler: 'index.handler',
          Timeout: 10,
          Code: { ZipFile: zipSync({ 'index.mjs': strToU8(source) }) },
        }),
      );
    }
    const eventBridgeEndpoint = await listen(eventBridge);
    emulator = await startStepFunctionsEmulator({
      lambdaEndpoint: lambdaEmulator.endpoint,
      eventBridgeEndpoint,
      dynamodbEndpoint: inject('dynamodbEndpoint'),
    });
    sfn = new SFNClient({ endpoint: emulator.endpoint, region: localRegion, credentials: localCredentials });
    await dynamodb.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      }),
    );
  });

  afterAll(async () => {
    await dynamodb.send(new DeleteTableCommand({ TableName: tableName })).catch(() => undefined);
    dynamodb.destroy();
    sfn?.destroy();
    await emulator?.close();
    lambda?.destroy();
    await lambdaEmulator?.close();
    await closeServer(eventBridge);
    rmSync(markerDir, { recursive: true, force: true });
  });

  async function createMachine(definition: object, prefix = 'sm'): Promise<string> {
    const { stateMachineArn } = await sfn.send(
      new CreateStateMachineCommand({
        name: `${prefix}-${randomUUID()}`,
        definition: JSON.stringify(definition),
        roleArn,
      }),
    );
    return stateMachineArn as string;
  }

  async function finished(executionArn: string, timeoutMs = 20_000): Promise<DescribeExecutionCommandOutput> {
    return waitFor(
      async () => {
        const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
        return described.status === 'RUNNING' ? undefined : described;
      },
      { timeoutMs, what: `execution ${executionArn} to finish` },
    );
  }

  async function run(
    stateMachineArn: string,
    input: unknown = {},
  ): Promise<{ described: DescribeExecutionCommandOutput; events: HistoryEvent[] }> {
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(input) }),
    );
    const described = await finished(executionArn as string);
    return { described, events: await history(executionArn as string) };
  }

  async function history(executionArn: string): Promise<HistoryEvent[]> {
    const events: HistoryEvent[] = [];
    let nextToken: string | undefined;
    do {
      const page = await sfn.send(
        new GetExecutionHistoryCommand({ executionArn, nextToken, maxResults: 1000 }),
      );
      events.push(...(page.events ?? []));
      nextToken = page.nextToken;
    } while (nextToken !== undefined);
    return events;
  }

  const entered = (events: HistoryEvent[]): string[] =>
    events
      .filter((event) => event.type?.endsWith('StateEntered'))
      .map((event) => event.stateEnteredEventDetails?.name ?? '');

  describe('a Pass → Task → Choice machine', () => {
    const definition = () => ({
      Comment: 'Pass, Task and Choice',
      StartAt: 'Prepare',
      States: {
        Prepare: { Type: 'Pass', Result: { prepared: true }, ResultPath: '$.meta', Next: 'Classify' },
        Classify: {
          Type: 'Task',
          Resource: lambdaInvoke,
          Parameters: { FunctionName: fn('classify'), 'Payload.$': '$' },
          ResultSelector: { 'kind.$': '$.Payload.kind', 'status.$': '$.StatusCode' },
          ResultPath: '$.classified',
          Next: 'Decide',
        },
        Decide: {
          Type: 'Choice',
          Choices: [{ Variable: '$.classified.kind', StringEquals: 'big', Next: 'Big' }],
          Default: 'Small',
        },
        Big: { Type: 'Pass', Result: 'went big', ResultPath: '$.outcome', End: true },
        Small: { Type: 'Succeed' },
      },
    });

    it('runs to SUCCEEDED and describes the execution with its input, output and dates', async () => {
      const stateMachineArn = await createMachine(definition());
      const { described, events } = await run(stateMachineArn, { size: 42 });

      expect(described.status).toBe('SUCCEEDED');
      expect(described.stateMachineArn).toBe(stateMachineArn);
      expect(JSON.parse(described.input ?? '')).toEqual({ size: 42 });
      expect(JSON.parse(described.output ?? '')).toEqual({
        size: 42,
        meta: { prepared: true },
        classified: { kind: 'big', status: 200 },
        outcome: 'went big',
      });
      expect(described.startDate).toBeInstanceOf(Date);
      expect(described.stopDate?.getTime()).toBeGreaterThanOrEqual(
        described.startDate?.getTime() ?? Infinity,
      );
      expect(events.map((event) => event.type)).toEqual([
        'ExecutionStarted',
        'PassStateEntered',
        'PassStateExited',
        'TaskStateEntered',
        'TaskScheduled',
        'TaskStarted',
        'TaskSucceeded',
        'TaskStateExited',
        'ChoiceStateEntered',
        'ChoiceStateExited',
        'PassStateEntered',
        'PassStateExited',
        'ExecutionSucceeded',
      ]);
    });

    it('numbers events from 1, chains previousEventId and fills the AWS event details', async () => {
      const stateMachineArn = await createMachine(definition());
      const { events } = await run(stateMachineArn, { size: 3 });

      expect(events.map((event) => event.id)).toEqual(events.map((_, index) => index + 1));
      expect(events[0]?.previousEventId).toBe(0);
      expect(events.slice(1).every((event, index) => event.previousEventId === index + 1)).toBe(true);
      expect(events.every((event) => event.timestamp instanceof Date)).toBe(true);
      expect(events[0]?.executionStartedEventDetails).toMatchObject({ input: '{"size":3}', roleArn });
      const scheduled = events.find((event) => event.type === 'TaskScheduled')?.taskScheduledEventDetails;
      expect(scheduled).toMatchObject({ resourceType: 'lambda', resource: 'invoke', region: localRegion });
      expect(JSON.parse(scheduled?.parameters ?? '')).toEqual({
        FunctionName: fn('classify'),
        Payload: { size: 3, meta: { prepared: true } },
      });
      const succeeded = events.find((event) => event.type === 'TaskSucceeded')?.taskSucceededEventDetails;
      expect(JSON.parse(succeeded?.output ?? '')).toMatchObject({
        Payload: { kind: 'small', size: 3 },
        StatusCode: 200,
        ExecutedVersion: '$LATEST',
      });
      expect(events.find((event) => event.type === 'ChoiceStateExited')?.stateExitedEventDetails?.name).toBe(
        'Decide',
      );
      expect(events.at(-1)?.type).toBe('ExecutionSucceeded');
      expect(JSON.parse(events.at(-1)?.executionSucceededEventDetails?.output ?? '')).toMatchObject({
        size: 3,
      });
    });

    it.each([
      { size: 42, states: ['Prepare', 'Classify', 'Decide', 'Big'] },
      { size: 2, states: ['Prepare', 'Classify', 'Decide', 'Small'] },
    ])('enters $states.3 for size $size', async ({ size, states }) => {
      const stateMachineArn = await createMachine(definition());
      const { described, events } = await run(stateMachineArn, { size });
      expect(described.status).toBe('SUCCEEDED');
      expect(entered(events)).toEqual(states);
    });
  });

  describe('Retry and Catch', () => {
    const retrying = (functionName: string, errorName: string, maxAttempts = 10) => ({
      StartAt: 'Call',
      States: {
        Call: {
          Type: 'Task',
          Resource: lambdaInvoke,
          Parameters: { FunctionName: functionName, 'Payload.$': '$' },
          Retry: [{ ErrorEquals: [errorName], IntervalSeconds: 1, BackoffRate: 1, MaxAttempts: maxAttempts }],
          OutputPath: '$.Payload',
          End: true,
        },
      },
    });

    it('retries a function error named by its errorType, then succeeds', async () => {
      const stateMachineArn = await createMachine(retrying(fn('transientOnce'), 'TransientError'));
      const { described, events } = await run(stateMachineArn, { key: randomUUID(), markerDir });

      expect(described.status).toBe('SUCCEEDED');
      expect(JSON.parse(described.output ?? '')).toBe('recovered');
      expect(entered(events)).toEqual(['Call']);
      const failed = events.filter((event) => event.type === 'TaskFailed');
      expect(failed.map((event) => event.taskFailedEventDetails?.error)).toEqual(['TransientError']);
      expect(JSON.parse(failed[0]?.taskFailedEventDetails?.cause ?? '')).toMatchObject({
        errorMessage: 'try again',
      });
      expect(events.filter((event) => event.type === 'TaskScheduled')).toHaveLength(2);
      expect(events.filter((event) => event.type === 'TaskSucceeded')).toHaveLength(1);
    });

    it('retries Lambda.TooManyRequestsException while the function is suspended, then succeeds once it is started', async () => {
      const functionName = fn('echo');
      await lambda.send(
        new PutFunctionConcurrencyCommand({ FunctionName: functionName, ReservedConcurrentExecutions: 0 }),
      );
      const stateMachineArn = await createMachine(retrying(functionName, 'Lambda.TooManyRequestsException'));
      const { executionArn } = await sfn.send(
        new StartExecutionCommand({ stateMachineArn, input: JSON.stringify({ resumed: true }) }),
      );
      await waitFor(
        async () =>
          (await history(executionArn as string)).some(
            (event) => event.taskFailedEventDetails?.error === 'Lambda.TooManyRequestsException',
          ),
        { what: 'a throttled attempt' },
      );
      await lambda.send(new DeleteFunctionConcurrencyCommand({ FunctionName: functionName }));

      const described = await finished(executionArn as string);
      const events = await history(executionArn as string);
      expect(described.status).toBe('SUCCEEDED');
      expect(JSON.parse(described.output ?? '')).toEqual({ resumed: true });
      const failed = events.filter((event) => event.type === 'TaskFailed');
      expect(failed.length).toBeGreaterThanOrEqual(1);
      expect(
        failed.every((event) => event.taskFailedEventDetails?.error === 'Lambda.TooManyRequestsException'),
      ).toBe(true);
      expect(events.filter((event) => event.type === 'TaskScheduled')).toHaveLength(failed.length + 1);
      expect(events.filter((event) => event.type === 'TaskSucceeded')).toHaveLength(1);
    });

    it('fails the execution once Retry gives up, with the last error and cause', async () => {
      const functionName = `${fn('echo')}-suspended`;
      await lambda.send(
        new CreateFunctionCommand({
          FunctionName: functionName,
          Runtime: 'nodejs24.x',
          Role: roleArn,
          Handler: 'index.handler',
          Code: { ZipFile: zipSync({ 'index.mjs': strToU8(functionSources.echo) }) },
        }),
      );
      await lambda.send(
        new PutFunctionConcurrencyCommand({ FunctionName: functionName, ReservedConcurrentExecutions: 0 }),
      );
      const stateMachineArn = await createMachine(
        retrying(functionName, 'Lambda.TooManyRequestsException', 1),
      );
      const { described, events } = await run(stateMachineArn, {});
      expect(described.status).toBe('FAILED');
      expect(described.error).toBe('Lambda.TooManyRequestsException');
      expect(described.cause).toContain('Service: AWSLambda; Status Code: 429');
      expect(events.filter((event) => event.type === 'TaskFailed')).toHaveLength(2);
      expect(events.at(-1)?.executionFailedEventDetails).toMatchObject({
        error: 'Lambda.TooManyRequestsException',
      });
    });

    it('Catch routes a function error to the fallback state with Error and Cause', async () => {
      const stateMachineArn = await createMachine({
        StartAt: 'Call',
        States: {
          Call: {
            Type: 'Task',
            Resource: lambdaInvoke,
            Parameters: { FunctionName: fn('rejects'), 'Payload.$': '$' },
            Catch: [{ ErrorEquals: ['ValidationFailed'], ResultPath: '$.failure', Next: 'Fallback' }],
            Next: 'NotReached',
          },
          NotReached: { Type: 'Succeed' },
          Fallback: { Type: 'Pass', End: true },
        },
      });
      const { described, events } = await run(stateMachineArn, { draft: 'd-1' });

      expect(described.status).toBe('SUCCEEDED');
      expect(entered(events)).toEqual(['Call', 'Fallback']);
      const output = JSON.parse(described.output ?? '') as {
        draft: string;
        failure: { Error: string; Cause: string };
      };
      expect(output.draft).toBe('d-1');
      expect(output.failure.Error).toBe('ValidationFailed');
      expect(JSON.parse(output.failure.Cause)).toMatchObject({
        errorMessage: 'memoryMiB must be at least 128',
      });
      const types = events.map((event) => event.type);
      expect(types.slice(types.indexOf('TaskFailed'), types.indexOf('TaskFailed') + 3)).toEqual([
        'TaskFailed',
        'TaskStateExited',
        'PassStateEntered',
      ]);
    });

    it('fails the execution with the function errorType when nothing catches it', async () => {
      const stateMachineArn = await createMachine({
        StartAt: 'Call',
        States: {
          Call: {
            Type: 'Task',
            Resource: lambdaInvoke,
            Parameters: { FunctionName: fn('rejects') },
            End: true,
          },
        },
      });
      const { described } = await run(stateMachineArn);
      expect(described.status).toBe('FAILED');
      expect(described.error).toBe('ValidationFailed');
      expect(JSON.parse(described.cause ?? '')).toMatchObject({ errorType: 'ValidationFailed' });
    });

    it('times a slow task out with States.Timeout and TaskTimedOut', async () => {
      const stateMachineArn = await createMachine({
        StartAt: 'Slow',
        States: {
          Slow: {
            Type: 'Task',
            Resource: lambdaInvoke,
            Parameters: { FunctionName: fn('slow') },
            TimeoutSeconds: 1,
            Catch: [{ ErrorEquals: ['States.Timeout'], Next: 'TimedOut' }],
            End: true,
          },
          TimedOut: { Type: 'Pass', End: true },
        },
      });
      const { described, events } = await run(stateMachineArn);
      expect(described.status).toBe('SUCCEEDED');
      expect(entered(events)).toEqual(['Slow', 'TimedOut']);
      expect(events.find((event) => event.type === 'TaskTimedOut')?.taskTimedOutEventDetails).toMatchObject({
        error: 'States.Timeout',
        resourceType: 'lambda',
      });
      expect(events.some((event) => event.type === 'TaskSucceeded')).toBe(false);
    });
  });

  describe('Map, Parallel, Wait and plain function ARNs', () => {
    it('runs a Map over items and records each iteration', async () => {
      const stateMachineArn = await createMachine({
        StartAt: 'Fan out',
        States: {
          'Fan out': {
            Type: 'Map',
            ItemsPath: '$.items',
            MaxConcurrency: 2,
            ItemProcessor: {
              ProcessorConfig: { Mode: 'INLINE' },
              StartAt: 'Double',
              States: {
                Double: {
                  Type: 'Task',
                  Resource: lambdaInvoke,
                  Parameters: { FunctionName: fn('double'), 'Payload.$': '$' },
                  OutputPath: '$.Payload',
                  End: true,
                },
              },
            },
            End: true,
          },
        },
      });
      const { described, events } = await run(stateMachineArn, { items: [{ n: 1 }, { n: 2 }, { n: 3 }] });

      expect(described.status).toBe('SUCCEEDED');
      expect(JSON.parse(described.output ?? '')).toEqual([2, 4, 6]);
      const types = events.map((event) => event.type);
      expect(types.slice(0, 3)).toEqual(['ExecutionStarted', 'MapStateEntered', 'MapStateStarted']);
      expect(events.find((event) => event.type === 'MapStateStarted')?.mapStateStartedEventDetails).toEqual({
        length: 3,
      });
      const iterations = events.filter((event) => event.type === 'MapIterationStarted');
      expect(iterations.map((event) => event.mapIterationStartedEventDetails?.index).sort()).toEqual([
        0, 1, 2,
      ]);
      expect(iterations.every((event) => event.mapIterationStartedEventDetails?.name === 'Fan out')).toBe(
        true,
      );
      expect(types.filter((type) => type === 'MapIterationSucceeded')).toHaveLength(3);
      expect(types.filter((type) => type === 'TaskSucceeded')).toHaveLength(3);
      expect(types.slice(-3)).toEqual(['MapStateSucceeded', 'MapStateExited', 'ExecutionSucceeded']);
      // Each iteration's first state follows that iteration's MapIterationStarted.
      for (const iteration of iterations) {
        const index = iteration.mapIterationStartedEventDetails?.index;
        const next = events.find((event) => event.previousEventId === iteration.id);
        expect(next?.type, `iteration ${index}`).toBe('TaskStateEntered');
      }
      // Each TaskScheduled chains to the TaskStateEntered of its own iteration.
      for (const scheduled of events.filter((event) => event.type === 'TaskScheduled')) {
        const enteredEvent = events.find((event) => event.id === scheduled.previousEventId);
        expect(enteredEvent?.type).toBe('TaskStateEntered');
        const payload = (
          JSON.parse(scheduled.taskScheduledEventDetails?.parameters ?? '') as { Payload: unknown }
        ).Payload;
        expect(JSON.parse(enteredEvent?.stateEnteredEventDetails?.input ?? '')).toEqual(payload);
      }
    });

    it('fails a Map when an iteration fails, with MapIterationFailed and MapStateFailed', async () => {
      const stateMachineArn = await createMachine({
        StartAt: 'Fan out',
        States: {
          'Fan out': {
            Type: 'Map',
            Iterator: {
              StartAt: 'Check',
              States: {
                Check: {
                  Type: 'Choice',
                  Choices: [{ Variable: '$', NumericGreaterThan: 1, Next: 'Reject' }],
                  Default: 'Accept',
                },
                Reject: { Type: 'Fail', Error: 'TooBig', Cause: 'item above 1' },
                Accept: { Type: 'Succeed' },
              },
            },
            End: true,
          },
        },
      });
      const { described, events } = await run(stateMachineArn, [1, 2]);
      expect(described.status).toBe('FAILED');
      expect(described.error).toBe('TooBig');
      expect(described.cause).toBe('item above 1');
      const types = events.map((event) => event.type);
      expect(types).toContain('FailStateEntered');
      expect(types).toContain('MapIterationFailed');
      expect(types.slice(-2)).toEqual(['MapStateFailed', 'ExecutionFailed']);
    });

    it('runs Parallel branches and records ParallelState events', async () => {
      const stateMachineArn = await createMachine({
        StartAt: 'Both',
        States: {
          Both: {
            Type: 'Parallel',
            Branches: [
              { StartAt: 'Left', States: { Left: { Type: 'Pass', Result: 'L', End: true } } },
              { StartAt: 'Right', States: { Right: { Type: 'Pass', Result: 'R', End: true } } },
            ],
            End: true,
          },
        },
      });
      const { described, events } = await run(stateMachineArn);
      expect(described.status).toBe('SUCCEEDED');
      expect(JSON.parse(described.output ?? '')).toEqual(['L', 'R']);
      const types = events.map((event) => event.type);
      expect(types.slice(0, 3)).toEqual(['ExecutionStarted', 'ParallelStateEntered', 'ParallelStateStarted']);
      expect(entered(events).sort()).toEqual(['Both', 'Left', 'Right']);
      expect(types.slice(-3)).toEqual([
        'ParallelStateSucceeded',
        'ParallelStateExited',
        'ExecutionSucceeded',
      ]);
    });

    it('honours a Wait state and records WaitStateEntered and WaitStateExited', async () => {
      const stateMachineArn = await createMachine({
        StartAt: 'Pause',
        States: { Pause: { Type: 'Wait', Seconds: 1, End: true } },
      });
      const { described, events } = await run(stateMachineArn, { waited: true });
      expect(described.status).toBe('SUCCEEDED');
      expect(events.map((event) => event.type)).toEqual([
        'ExecutionStarted',
        'WaitStateEntered',
        'WaitStateExited',
        'ExecutionSucceeded',
      ]);
    });

    it('times the execution out after its TimeoutSeconds: TIMED_OUT and ExecutionTimedOut', async () => {
      const stateMachineArn = await createMachine({
        TimeoutSeconds: 1,
        StartAt: 'Pause',
        States: { Pause: { Type: 'Wait', Seconds: 600, End: true } },
      });
      const { described, events } = await run(stateMachineArn);
      expect(described.status).toBe('TIMED_OUT');
      expect(described.error).toBe('States.Timeout');
      expect(events.map((event) => event.type)).toEqual([
        'ExecutionStarted',
        'WaitStateEntered',
        'ExecutionTimedOut',
      ]);
    });

    it('invokes a plain Lambda function ARN with LambdaFunction* events', async () => {
      const stateMachineArn = await createMachine({
        StartAt: 'Double',
        States: {
          Double: {
            Type: 'Task',
            Resource: `arn:aws:lambda:us-east-1:000000000000:function:${fn('double')}`,
            End: true,
          },
        },
      });
      const { described, events } = await run(stateMachineArn, { n: 21 });
      expect(described.cause).toBeUndefined();
      expect(described.status).toBe('SUCCEEDED');
      expect(JSON.parse(described.output ?? '')).toBe(42);
      expect(events.map((event) => event.type)).toEqual([
        'ExecutionStarted',
        'TaskStateEntered',
        'LambdaFunctionScheduled',
        'LambdaFunctionStarted',
        'LambdaFunctionSucceeded',
        'TaskStateExited',
        'ExecutionSucceeded',
      ]);
    });

    it('passes the execution name and ARN through the context object', async () => {
      const stateMachineArn = await createMachine({
        StartAt: 'Context',
        States: {
          Context: {
            Type: 'Pass',
            Parameters: {
              'name.$': '$$.Execution.Name',
              'id.$': '$$.Execution.Id',
              'machine.$': '$$.StateMachine.Id',
            },
            End: true,
          },
        },
      });
      const name = `deployment-${randomUUID()}`;
      const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn, name }));
      const described = await finished(executionArn as string);
      expect(JSON.parse(described.output ?? '')).toEqual({
        name,
        id: executionArn,
        machine: stateMachineArn,
      });
    });

    it('fails the execution with States.Runtime naming a task resource it cannot run', async () => {
      const stateMachineArn = await createMachine({
        StartAt: 'Queue',
        States: {
          Queue: {
            Type: 'Task',
            Resource: 'arn:aws:states:::sqs:sendMessage',
            Parameters: { QueueUrl: 'q', MessageBody: 'm' },
            Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Caught' }],
            End: true,
          },
          Caught: { Type: 'Pass', End: true },
        },
      });
      const { described, events } = await run(stateMachineArn);
      expect(described.status).toBe('FAILED');
      expect(described.error).toBe('States.Runtime');
      expect(described.cause).toContain('arn:aws:states:::sqs:sendMessage');
      expect(entered(events)).toEqual(['Queue']);
    });
  });

  describe('DynamoDB and EventBridge tasks', () => {
    it('puts and gets an item in DynamoDB Local, and catches DynamoDB.ConditionalCheckFailedException', async () => {
      const stateMachineArn = await createMachine({
        StartAt: 'Put',
        States: {
          Put: {
            Type: 'Task',
            Resource: 'arn:aws:states:::dynamodb:putItem',
            Parameters: {
              TableName: tableName,
              Item: { pk: { 'S.$': '$.id' }, status: { S: 'Committed' } },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
            ResultPath: null,
            Catch: [
              {
                ErrorEquals: ['DynamoDB.ConditionalCheckFailedException'],
                ResultPath: '$.failure',
                Next: 'Exists',
              },
            ],
            Next: 'Get',
          },
          Get: {
            Type: 'Task',
            Resource: 'arn:aws:states:::dynamodb:getItem',
            Parameters: { TableName: tableName, Key: { pk: { 'S.$': '$.id' } }, ConsistentRead: true },
            ResultSelector: { 'status.$': '$.Item.status.S' },
            End: true,
          },
          Exists: { Type: 'Pass', End: true },
        },
      });
      const id = `deployment-${randomUUID()}`;

      const first = await run(stateMachineArn, { id });
      expect(first.described.status).toBe('SUCCEEDED');
      expect(JSON.parse(first.described.output ?? '')).toEqual({ status: 'Committed' });
      const stored = await dynamodb.send(
        new GetItemCommand({ TableName: tableName, Key: { pk: { S: id } } }),
      );
      expect(stored.Item?.status?.S).toBe('Committed');
      const scheduled = first.events.find(
        (event) => event.type === 'TaskScheduled',
      )?.taskScheduledEventDetails;
      expect(scheduled).toMatchObject({ resourceType: 'dynamodb', resource: 'putItem' });

      const second = await run(stateMachineArn, { id });
      expect(second.described.status).toBe('SUCCEEDED');
      expect(entered(second.events)).toEqual(['Put', 'Exists']);
      const failed = second.events.find((event) => event.type === 'TaskFailed')?.taskFailedEventDetails;
      expect(failed?.error).toBe('DynamoDB.ConditionalCheckFailedException');
      expect(failed?.cause).toContain('Status Code: 400');
    });

    it('names a missing table DynamoDB.ResourceNotFoundException', async () => {
      await dynamodb.send(new PutItemCommand({ TableName: tableName, Item: { pk: { S: 'probe' } } }));
      const stateMachineArn = await createMachine({
        StartAt: 'Get',
        States: {
          Get: {
            Type: 'Task',
            Resource: 'arn:aws:states:::dynamodb:getItem',
            Parameters: { TableName: `missing-${randomUUID()}`, Key: { pk: { S: 'probe' } } },
            End: true,
          },
        },
      });
      const { described } = await run(stateMachineArn);
      expect(described.status).toBe('FAILED');
      expect(described.error).toBe('DynamoDB.ResourceNotFoundException');
    });

    it('puts events with a serialized Detail and the execution and state machine ARNs as Resources', async () => {
      const stateMachineArn = await createMachine({
        StartAt: 'Publish',
        States: {
          Publish: {
            Type: 'Task',
            Resource: 'arn:aws:states:::events:putEvents',
            Parameters: {
              Entries: [
                {
                  EventBusName: 'greco',
                  Source: 'greco.deployments',
                  DetailType: 'Deployment Committed',
                  'Detail.$': '$.detail',
                },
              ],
            },
            End: true,
          },
        },
      });
      const marker = randomUUID();
      const { executionArn } = await sfn.send(
        new StartExecutionCommand({
          stateMachineArn,
          input: JSON.stringify({ detail: { marker, epoch: 3 } }),
        }),
      );
      const described = await finished(executionArn as string);
      expect(described.status).toBe('SUCCEEDED');
      expect(JSON.parse(described.output ?? '')).toMatchObject({ FailedEntryCount: 0, Entries: [{}] });
      const entry = eventsReceived.find((candidate) => JSON.stringify(candidate).includes(marker)) as {
        Detail: string;
        Resources: string[];
        DetailType: string;
      };
      expect(JSON.parse(entry.Detail)).toEqual({ marker, epoch: 3 });
      expect(entry.DetailType).toBe('Deployment Committed');
      expect(entry.Resources).toEqual([executionArn, stateMachineArn]);
    });

    it('fails with EventBridge.FailedEntry when an entry is rejected', async () => {
      const stateMachineArn = await createMachine({
        StartAt: 'Publish',
        States: {
          Publish: {
            Type: 'Task',
            Resource: 'arn:aws:states:::events:putEvents',
            Parameters: { Entries: [{ Source: 'reject.me', DetailType: 'x', Detail: {} }] },
            End: true,
          },
        },
      });
      const { described } = await run(stateMachineArn);
      expect(described.status).toBe('FAILED');
      expect(described.error).toBe('EventBridge.FailedEntry');
    });
  });

  describe('executions by name, stop, lists and pages', () => {
    const waiting = { StartAt: 'Hold', States: { Hold: { Type: 'Wait', Seconds: 600, End: true } } };

    it('is idempotent by name: same input gives the same execution, different input ExecutionAlreadyExists', async () => {
      const stateMachineArn = await createMachine(waiting);
      const name = `deployment-${randomUUID()}`;
      const first = await sfn.send(
        new StartExecutionCommand({ stateMachineArn, name, input: '{"draft":"a"}' }),
      );
      const again = await sfn.send(
        new StartExecutionCommand({ stateMachineArn, name, input: '{"draft":"a"}' }),
      );
      expect(again.executionArn).toBe(first.executionArn);
      expect(again.startDate).toEqual(first.startDate);
      await expect(
        sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: '{"draft":"b"}' })),
      ).rejects.toBeInstanceOf(ExecutionAlreadyExists);

      const listed = await sfn.send(new ListExecutionsCommand({ stateMachineArn }));
      expect(listed.executions?.map((execution) => execution.name)).toEqual([name]);

      await sfn.send(new StopExecutionCommand({ executionArn: first.executionArn }));
      // As AWS: once the first execution has closed, the name cannot be reused even with the same input.
      await expect(
        sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: '{"draft":"a"}' })),
      ).rejects.toBeInstanceOf(ExecutionAlreadyExists);
    });

    it('StopExecution aborts a running execution: ABORTED, stopDate, ExecutionAborted with error and cause', async () => {
      const stateMachineArn = await createMachine(waiting);
      const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn }));
      await waitFor(
        async () =>
          (await history(executionArn as string)).some((event) => event.type === 'WaitStateEntered'),
        {
          what: 'the Wait state to be entered',
        },
      );

      const stopped = await sfn.send(
        new StopExecutionCommand({ executionArn, error: 'Operator.Cancel', cause: 'cancelled by a test' }),
      );
      const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      expect(described.status).toBe('ABORTED');
      expect(described.stopDate).toEqual(stopped.stopDate);
      const events = await history(executionArn as string);
      expect(events.at(-1)).toMatchObject({
        type: 'ExecutionAborted',
        executionAbortedEventDetails: { error: 'Operator.Cancel', cause: 'cancelled by a test' },
      });
      const aborted = await sfn.send(new ListExecutionsCommand({ stateMachineArn, statusFilter: 'ABORTED' }));
      expect(aborted.executions?.map((execution) => execution.executionArn)).toEqual([executionArn]);
      const running = await sfn.send(new ListExecutionsCommand({ stateMachineArn, statusFilter: 'RUNNING' }));
      expect(running.executions).toEqual([]);

      // Stopping again changes nothing.
      const again = await sfn.send(new StopExecutionCommand({ executionArn }));
      expect(again.stopDate).toEqual(stopped.stopDate);
      expect((await history(executionArn as string)).length).toBe(events.length);
    });

    it('pages history forwards and in reverse, and can leave execution data out', async () => {
      const stateMachineArn = await createMachine({
        StartAt: 'A',
        States: { A: { Type: 'Pass', Next: 'B' }, B: { Type: 'Pass', End: true } },
      });
      const { executionArn } = await sfn.send(
        new StartExecutionCommand({ stateMachineArn, input: '{"x":1}' }),
      );
      await finished(executionArn as string);

      const first = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 4 }));
      expect(first.events?.map((event) => event.id)).toEqual([1, 2, 3, 4]);
      const second = await sfn.send(
        new GetExecutionHistoryCommand({ executionArn, maxResults: 4, nextToken: first.nextToken }),
      );
      expect(second.events?.map((event) => event.id)).toEqual([5, 6]);
      expect(second.nextToken).toBeUndefined();

      const reversed = await sfn.send(
        new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 2 }),
      );
      expect(reversed.events?.map((event) => event.type)).toEqual(['ExecutionSucceeded', 'PassStateExited']);

      const bare = await sfn.send(
        new GetExecutionHistoryCommand({ executionArn, includeExecutionData: false }),
      );
      expect(bare.events?.[0]?.executionStartedEventDetails?.input).toBeUndefined();
      expect(bare.events?.[1]?.stateEnteredEventDetails?.name).toBe('A');

      await expect(
        sfn.send(new GetExecutionHistoryCommand({ executionArn, nextToken: 'not-a-token' })),
      ).rejects.toMatchObject({ name: 'InvalidToken' });
    });

    it('lists executions newest first, paginated', async () => {
      const stateMachineArn = await createMachine({
        StartAt: 'A',
        States: { A: { Type: 'Pass', End: true } },
      });
      const names = ['first', 'second', 'third'];
      for (const name of names) {
        const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn, name }));
        await finished(executionArn as string);
      }
      const page1 = await sfn.send(new ListExecutionsCommand({ stateMachineArn, maxResults: 2 }));
      const page2 = await sfn.send(
        new ListExecutionsCommand({ stateMachineArn, maxResults: 2, nextToken: page1.nextToken }),
      );
      expect(
        [...(page1.executions ?? []), ...(page2.executions ?? [])].map((execution) => execution.name),
      ).toEqual(['third', 'second', 'first']);
      expect(page2.nextToken).toBeUndefined();
      const succeeded = await sfn.send(
        new ListExecutionsCommand({ stateMachineArn, statusFilter: 'SUCCEEDED' }),
      );
      expect(succeeded.executions?.every((execution) => execution.status === 'SUCCEEDED')).toBe(true);
    });

    it('refuses bad execution names and input, starting nothing', async () => {
      const stateMachineArn = await createMachine({
        StartAt: 'A',
        States: { A: { Type: 'Pass', End: true } },
      });
      await expect(
        sfn.send(new StartExecutionCommand({ stateMachineArn, name: 'has space' })),
      ).rejects.toBeInstanceOf(InvalidName);
      await expect(
        sfn.send(new StartExecutionCommand({ stateMachineArn, input: '{not json' })),
      ).rejects.toBeInstanceOf(InvalidExecutionInput);
      await expect(
        sfn.send(
          new StartExecutionCommand({ stateMachineArn, input: JSON.stringify({ big: 'x'.repeat(262_144) }) }),
        ),
      ).rejects.toMatchObject({ name: 'ValidationException' });
      const listed = await sfn.send(new ListExecutionsCommand({ stateMachineArn }));
      expect(listed.executions).toEqual([]);
    });
  });

  describe('state machines', () => {
    it.each([
      {
        what: 'QueryLanguage JSONata',
        definition: {
          QueryLanguage: 'JSONata',
          StartAt: 'A',
          States: { A: { Type: 'Pass', Output: '{% 1 %}', End: true } },
        },
      },
      {
        what: 'a JSONata state',
        definition: { StartAt: 'A', States: { A: { Type: 'Pass', QueryLanguage: 'JSONata', End: true } } },
      },
      {
        what: 'Assign',
        definition: { StartAt: 'A', States: { A: { Type: 'Pass', Assign: { epoch: 1 }, End: true } } },
      },
    ])(
      'refuses $what with InvalidDefinition naming the JSONPath-only runner, creating nothing',
      async ({ definition }) => {
        const name = `refused-${randomUUID()}`;
        const attempt = sfn.send(
          new CreateStateMachineCommand({ name, definition: JSON.stringify(definition), roleArn }),
        );
        await expect(attempt).rejects.toBeInstanceOf(InvalidDefinition);
        await expect(attempt).rejects.toThrow(/aws-local-stepfunctions.*JSONPath/);
        const listed = await sfn.send(new ListStateMachinesCommand({ maxResults: 1000 }));
        expect(listed.stateMachines?.some((machine) => machine.name === name)).toBe(false);
      },
    );

    it('refuses definitions that asl-validator rejects', async () => {
      const attempt = sfn.send(
        new CreateStateMachineCommand({
          name: `bad-${randomUUID()}`,
          definition: JSON.stringify({ StartAt: 'A', States: { A: { Type: 'Pass', Next: 'Nowhere' } } }),
          roleArn,
        }),
      );
      await expect(attempt).rejects.toBeInstanceOf(InvalidDefinition);
      await expect(attempt).rejects.toThrow(/MISSING_TRANSITION_TARGET/);
    });

    it('answers StateMachineDoesNotExist, ExecutionDoesNotExist and InvalidArn as AWS', async () => {
      const unknown = `arn:aws:states:us-east-1:000000000000:stateMachine:missing-${randomUUID()}`;
      await expect(
        sfn.send(new DescribeStateMachineCommand({ stateMachineArn: unknown })),
      ).rejects.toBeInstanceOf(StateMachineDoesNotExist);
      await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: unknown }))).rejects.toBeInstanceOf(
        StateMachineDoesNotExist,
      );
      await expect(sfn.send(new ListExecutionsCommand({ stateMachineArn: unknown }))).rejects.toBeInstanceOf(
        StateMachineDoesNotExist,
      );
      await expect(
        sfn.send(
          new DescribeExecutionCommand({
            executionArn: `arn:aws:states:us-east-1:000000000000:execution:missing:${randomUUID()}`,
          }),
        ),
      ).rejects.toBeInstanceOf(ExecutionDoesNotExist);
      await expect(
        sfn.send(
          new DescribeStateMachineCommand({
            stateMachineArn: 'arn:aws:lambda:us-east-1:000000000000:function:x',
          }),
        ),
      ).rejects.toBeInstanceOf(InvalidArn);
      await expect(
        sfn.send(new DescribeExecutionCommand({ executionArn: 'nonsense' })),
      ).rejects.toBeInstanceOf(InvalidArn);
    });

    it('creates idempotently, refuses a different definition under the same name, updates, describes and deletes', async () => {
      const name = `lifecycle-${randomUUID()}`;
      const v1 = JSON.stringify({ StartAt: 'A', States: { A: { Type: 'Pass', Result: 1, End: true } } });
      const v2 = JSON.stringify({ StartAt: 'A', States: { A: { Type: 'Pass', Result: 2, End: true } } });
      const created = await sfn.send(new CreateStateMachineCommand({ name, definition: v1, roleArn }));
      const repeated = await sfn.send(new CreateStateMachineCommand({ name, definition: v1, roleArn }));
      expect(repeated.stateMachineArn).toBe(created.stateMachineArn);
      expect(created.stateMachineArn).toBe(`arn:aws:states:us-east-1:000000000000:stateMachine:${name}`);
      await expect(
        sfn.send(new CreateStateMachineCommand({ name, definition: v2, roleArn })),
      ).rejects.toBeInstanceOf(StateMachineAlreadyExists);
      await expect(
        sfn.send(new CreateStateMachineCommand({ name: 'bad/name', definition: v1, roleArn })),
      ).rejects.toBeInstanceOf(InvalidName);
      await expect(
        sfn.send(
          new CreateStateMachineCommand({ name: `r-${randomUUID()}`, definition: v1, roleArn: 'not-a-role' }),
        ),
      ).rejects.toBeInstanceOf(InvalidArn);

      const stateMachineArn = created.stateMachineArn as string;
      const before = await sfn.send(new StartExecutionCommand({ stateMachineArn }));
      await finished(before.executionArn as string);
      await sfn.send(new UpdateStateMachineCommand({ stateMachineArn, definition: v2 }));
      const described = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn }));
      expect(described).toMatchObject({ name, status: 'ACTIVE', type: 'STANDARD', definition: v2, roleArn });
      const forExecution = await sfn.send(
        new DescribeStateMachineForExecutionCommand({ executionArn: before.executionArn }),
      );
      expect(forExecution.definition).toBe(v1);
      const after = await sfn.send(new StartExecutionCommand({ stateMachineArn }));
      expect((await finished(after.executionArn as string)).output).toBe('2');

      await expect(
        sfn.send(new UpdateStateMachineCommand({ stateMachineArn, definition: '{"StartAt":' })),
      ).rejects.toBeInstanceOf(InvalidDefinition);
      await expect(sfn.send(new UpdateStateMachineCommand({ stateMachineArn }))).rejects.toBeInstanceOf(
        MissingRequiredParameter,
      );
      expect((await sfn.send(new DescribeStateMachineCommand({ stateMachineArn }))).definition).toBe(v2);

      const listed = await sfn.send(new ListStateMachinesCommand({ maxResults: 1000 }));
      expect(listed.stateMachines?.some((machine) => machine.stateMachineArn === stateMachineArn)).toBe(true);
      await sfn.send(new DeleteStateMachineCommand({ stateMachineArn }));
      await expect(sfn.send(new DescribeStateMachineCommand({ stateMachineArn }))).rejects.toBeInstanceOf(
        StateMachineDoesNotExist,
      );
      // Executions outlive their deleted state machine, as on AWS.
      expect(
        (await sfn.send(new DescribeExecutionCommand({ executionArn: after.executionArn }))).status,
      ).toBe('SUCCEEDED');
    });
  });
});

describe('local Step Functions emulator limits and missing services', () => {
  let emulator: RunningStepFunctionsEmulator;
  let sfn: SFNClient;

  beforeAll(async () => {
    emulator = await startStepFunctionsEmulator();
    sfn = new SFNClient({ endpoint: emulator.endpoint, region: localRegion, credentials: localCredentials });
  });

  afterAll(async () => {
    sfn?.destroy();
    await emulator?.close();
  });

  it('fails a Lambda task with States.Runtime naming the lambdaEndpoint option when there is no Lambda', async () => {
    const { stateMachineArn } = await sfn.send(
      new CreateStateMachineCommand({
        name: `no-lambda-${randomUUID()}`,
        roleArn,
        definition: JSON.stringify({
          StartAt: 'Call',
          States: {
            Call: { Type: 'Task', Resource: lambdaInvoke, Parameters: { FunctionName: 'f' }, End: true },
          },
        }),
      }),
    );
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn }));
    const described = await waitFor(async () => {
      const current = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      return current.status === 'RUNNING' ? undefined : current;
    });
    expect(described.status).toBe('FAILED');
    expect(described.error).toBe('States.Runtime');
    expect(described.cause).toContain('lambdaEndpoint');
  });

  it('fails an execution that would exceed 25,000 history events with States.Runtime', async () => {
    // Each item adds MapIterationStarted, PassStateEntered, PassStateExited, MapIterationSucceeded.
    const items = Array.from({ length: 6_300 }, (_, index) => index);
    const { stateMachineArn } = await sfn.send(
      new CreateStateMachineCommand({
        name: `history-limit-${randomUUID()}`,
        roleArn,
        definition: JSON.stringify({
          StartAt: 'Many',
          States: {
            Many: {
              Type: 'Map',
              MaxConcurrency: 40,
              ItemProcessor: { StartAt: 'Item', States: { Item: { Type: 'Pass', End: true } } },
              End: true,
            },
          },
        }),
      }),
    );
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(items) }),
    );
    const described = await waitFor(
      async () => {
        const current = await sfn.send(new DescribeExecutionCommand({ executionArn }));
        return current.status === 'RUNNING' ? undefined : current;
      },
      { timeoutMs: 50_000, what: 'the execution to reach the history limit' },
    );
    expect(described.status).toBe('FAILED');
    expect(described.error).toBe('States.Runtime');
    expect(described.cause).toContain('25000');
    const last = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 1 }),
    );
    expect(last.events?.[0]).toMatchObject({ id: 25_000, type: 'ExecutionFailed' });
  });
});
