import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateAliasCommand,
  CreateFunctionCommand,
  type CreateFunctionCommandInput,
  InvokeCommand,
  type InvokeCommandOutput,
  LambdaClient,
  PublishVersionCommand,
  PutFunctionConcurrencyCommand,
  UpdateAliasCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2,
} from '@aws-sdk/client-lambda';
import { strToU8, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningLambdaEmulator, startLambdaEmulator } from '../../local/lambda/index.ts';
import { localAccountId, localCredentials, localRegion, waitFor } from '../../local/net.ts';

const role = `arn:aws:iam::${localAccountId}:role/greco-test`;
const waiterTiming = { maxWaitTime: 20, minDelay: 1, maxDelay: 1 };

let counter = 0;
function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}`;
}

function text(output: InvokeCommandOutput): string {
  return new TextDecoder().decode(output.Payload);
}

function json(output: InvokeCommandOutput): Record<string, unknown> {
  return JSON.parse(text(output)) as Record<string, unknown>;
}

describe('Lambda emulator Invoke', () => {
  let emulator: RunningLambdaEmulator;
  let lambda: LambdaClient;
  let scratch: string;
  const logs: string[] = [];

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'greco-lambda-invoke-'));
    emulator = await startLambdaEmulator({
      controlPlaneRateLimit: 0,
      transitionMs: 0,
      functionEnvironment: { FROM_EMULATOR: 'emulator', SHARED: 'emulator', SCRATCH: scratch },
      asyncRetryDelaysMs: [20, 20],
      logSink: (line) => logs.push(line),
    });
    lambda = new LambdaClient({
      endpoint: emulator.endpoint,
      region: localRegion,
      credentials: localCredentials,
      maxAttempts: 1,
    });
  });
  afterAll(async () => {
    lambda.destroy();
    await emulator.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  async function deploy(
    files: Record<string, string>,
    extra: Partial<CreateFunctionCommandInput> = {},
  ): Promise<string> {
    const name = uniqueName('fn');
    const zip = zipSync(
      Object.fromEntries(Object.entries(files).map(([path, source]) => [path, strToU8(source)])),
    );
    await lambda.send(
      new CreateFunctionCommand({
        FunctionName: name,
        Runtime: 'nodejs24.x',
        Role: role,
        Handler: 'index.handler',
        Code: { ZipFile: zip },
        ...extra,
      }),
    );
    return name;
  }

  it('runs an async ESM handler with Lambda context fields and returns its JSON result', async () => {
    const name = await deploy(
      {
        'index.mjs': `export const handler = async (event, context) => ({
          event,
          requestId: context.awsRequestId,
          functionName: context.functionName,
          functionVersion: context.functionVersion,
          invokedFunctionArn: context.invokedFunctionArn,
          memoryLimitInMB: context.memoryLimitInMB,
          remaining: context.getRemainingTimeInMillis(),
        });`,
      },
      { MemorySize: 256, Timeout: 30 },
    );
    const output = await lambda.send(
      new InvokeCommand({ FunctionName: name, Payload: JSON.stringify({ hello: 'world' }), LogType: 'Tail' }),
    );
    expect(output.StatusCode).toBe(200);
    expect(output.FunctionError).toBeUndefined();
    expect(output.ExecutedVersion).toBe('$LATEST');
    const result = json(output);
    expect(result).toMatchObject({
      event: { hello: 'world' },
      functionName: name,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:${localRegion}:${localAccountId}:function:${name}`,
      memoryLimitInMB: '256',
    });
    expect(result.remaining).toBeGreaterThan(0);
    expect(result.remaining).toBeLessThanOrEqual(30_000);
    const tail = Buffer.from(output.LogResult ?? '', 'base64').toString('utf8');
    expect(tail).toContain(`START RequestId: ${result.requestId} Version: $LATEST`);
    expect(tail).toContain(`REPORT RequestId: ${result.requestId}`);
  });

  it('gives the function Lambda variables, then the emulator environment, then its own variables', async () => {
    const name = await deploy(
      { 'index.mjs': 'export const handler = async () => ({ ...process.env });' },
      { Environment: { Variables: { SHARED: 'function', OWN: 'own' } }, MemorySize: 512 },
    );
    const env = json(await lambda.send(new InvokeCommand({ FunctionName: name })));
    expect(env).toMatchObject({
      AWS_REGION: localRegion,
      AWS_DEFAULT_REGION: localRegion,
      AWS_LAMBDA_FUNCTION_NAME: name,
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${name}`,
      _HANDLER: 'index.handler',
      TZ: ':UTC',
      FROM_EMULATOR: 'emulator',
      SHARED: 'function',
      OWN: 'own',
    });
    expect(env.LAMBDA_TASK_ROOT).toEqual(expect.any(String));
    expect(env.AWS_ACCESS_KEY_ID).toBe(localCredentials.accessKeyId);
  });

  it('provides the AWS SDK v3 to ESM and CommonJS functions that do not bundle it', async () => {
    const esm = await deploy({
      'index.mjs': `import { S3Client } from '@aws-sdk/client-s3';
        export const handler = async () => ({ serviceId: new S3Client({}).config.serviceId });`,
    });
    const cjs = await deploy(
      {
        'app/main.js': `const { DynamoDBClient } = require('@aws-sdk/client-dynamodb');
          exports.run = async () => ({ serviceId: new DynamoDBClient({}).config.serviceId });`,
      },
      { Handler: 'app/main.run' },
    );
    expect(json(await lambda.send(new InvokeCommand({ FunctionName: esm })))).toEqual({ serviceId: 'S3' });
    expect(json(await lambda.send(new InvokeCommand({ FunctionName: cjs })))).toEqual({
      serviceId: 'DynamoDB',
    });
  });

  it('answers a thrown error with 200, X-Amz-Function-Error: Unhandled and {errorType, errorMessage, trace}', async () => {
    const name = await deploy({
      'index.mjs': `class OrderRejected extends Error { name = 'OrderRejected'; }
        export const handler = async () => { throw new OrderRejected('no stock for sku-1'); };`,
    });
    const output = await lambda.send(new InvokeCommand({ FunctionName: name }));
    expect(output.StatusCode).toBe(200);
    expect(output.FunctionError).toBe('Unhandled');
    const error = json(output);
    expect(error).toMatchObject({ errorType: 'OrderRejected', errorMessage: 'no stock for sku-1' });
    expect(error.trace).toEqual(
      expect.arrayContaining([expect.stringContaining('OrderRejected: no stock for sku-1')]),
    );
  });

  it('kills a function that runs past its timeout and answers Task timed out', async () => {
    const name = await deploy(
      { 'index.mjs': 'export const handler = () => new Promise(() => {});' },
      { Timeout: 1 },
    );
    const output = await lambda.send(new InvokeCommand({ FunctionName: name }));
    expect(output.FunctionError).toBe('Unhandled');
    const error = json(output);
    expect(error.errorType).toBe('Sandbox.Timedout');
    expect(error.errorMessage).toMatch(/^RequestId: \S+ Error: Task timed out after 1\.00 seconds$/);
    expect(emulator.stats().invocations.timeouts).toBeGreaterThanOrEqual(1);
  });

  it('reports a process that exits as Runtime.ExitError and starts a fresh one next time', async () => {
    const name = await deploy({
      'index.mjs':
        'export const handler = async (event) => { if (event.exit) process.exit(3); return process.pid; };',
    });
    const before = Number(text(await lambda.send(new InvokeCommand({ FunctionName: name, Payload: '{}' }))));
    const crashed = await lambda.send(new InvokeCommand({ FunctionName: name, Payload: '{"exit":true}' }));
    expect(crashed.FunctionError).toBe('Unhandled');
    expect(json(crashed)).toMatchObject({
      errorType: 'Runtime.ExitError',
      errorMessage: expect.stringContaining('Runtime exited with error: exit status 3'),
    });
    const after = await lambda.send(new InvokeCommand({ FunctionName: name, Payload: '{}' }));
    expect(after.FunctionError).toBeUndefined();
    expect(Number(text(after))).not.toBe(before);
  });

  it.each([
    [
      'a handler file that does not exist',
      { 'other.mjs': 'export const handler = async () => 1;' },
      'Runtime.ImportModuleError',
    ],
    [
      'a handler that is not exported',
      { 'index.mjs': 'export const other = async () => 1;' },
      'Runtime.HandlerNotFound',
    ],
    [
      'a module that fails to load',
      { 'index.mjs': "import 'not-a-package'; export const handler = async () => 1;" },
      'Runtime.ImportModuleError',
    ],
    [
      'a syntax error',
      { 'index.mjs': 'export const handler = async () => {' },
      'Runtime.UserCodeSyntaxError',
    ],
  ])('answers %s with its init error', async (_case, files, errorType) => {
    const name = await deploy(files);
    const output = await lambda.send(new InvokeCommand({ FunctionName: name }));
    expect(output.FunctionError).toBe('Unhandled');
    expect(json(output).errorType).toBe(errorType);
  });

  it('runs callback-style CommonJS handlers on nodejs20.x and refuses them on nodejs24.x, as Lambda does', async () => {
    const source =
      "exports.handler = (event, context, callback) => { setImmediate(() => callback(null, { via: 'callback' })); };";
    const old = await deploy({ 'index.js': source }, { Runtime: 'nodejs20.x' });
    const current = await deploy({ 'index.js': source }, { Runtime: 'nodejs24.x' });
    expect(json(await lambda.send(new InvokeCommand({ FunctionName: old })))).toEqual({ via: 'callback' });
    const refused = await lambda.send(new InvokeCommand({ FunctionName: current }));
    expect(refused.FunctionError).toBe('Unhandled');
    expect(json(refused).errorType).toBe('Runtime.CallbackHandlerDeprecated');
  });

  it('creates functions of other runtimes but answers their invocations with an error naming the runtime', async () => {
    const name = await deploy(
      { 'lambda_function.py': 'def handler(e, c): return 1' },
      {
        Runtime: 'python3.12',
        Handler: 'lambda_function.handler',
      },
    );
    const output = await lambda.send(new InvokeCommand({ FunctionName: name }));
    expect(output.FunctionError).toBe('Unhandled');
    expect(json(output)).toMatchObject({
      errorType: 'Runtime.Unsupported',
      errorMessage: expect.stringContaining('python3.12'),
    });
  });

  it('runs the code of the version an alias points at', async () => {
    const name = await deploy({ 'index.mjs': 'export const handler = async () => "one";' });
    await lambda.send(new PublishVersionCommand({ FunctionName: name }));
    await lambda.send(
      new UpdateFunctionCodeCommand({
        FunctionName: name,
        ZipFile: zipSync({ 'index.mjs': strToU8('export const handler = async () => "two";') }),
      }),
    );
    await waitUntilFunctionUpdatedV2({ client: lambda, ...waiterTiming }, { FunctionName: name });
    await lambda.send(new PublishVersionCommand({ FunctionName: name }));
    await lambda.send(new CreateAliasCommand({ FunctionName: name, Name: 'live', FunctionVersion: '1' }));

    const byAlias = await lambda.send(new InvokeCommand({ FunctionName: name, Qualifier: 'live' }));
    expect(text(byAlias)).toBe('"one"');
    expect(byAlias.ExecutedVersion).toBe('1');
    expect(text(await lambda.send(new InvokeCommand({ FunctionName: `${name}:live` })))).toBe('"one"');
    expect(text(await lambda.send(new InvokeCommand({ FunctionName: name })))).toBe('"two"');
    const byVersion = await lambda.send(new InvokeCommand({ FunctionName: name, Qualifier: '2' }));
    expect(text(byVersion)).toBe('"two"');
    expect(byVersion.ExecutedVersion).toBe('2');

    await lambda.send(new UpdateAliasCommand({ FunctionName: name, Name: 'live', FunctionVersion: '2' }));
    expect(text(await lambda.send(new InvokeCommand({ FunctionName: name, Qualifier: 'live' })))).toBe(
      '"two"',
    );
    await expect(
      lambda.send(new InvokeCommand({ FunctionName: name, Qualifier: 'missing' })),
    ).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });

  it('keeps serving the previous configuration while an update is InProgress', async () => {
    const slow = await startLambdaEmulator({
      controlPlaneRateLimit: 0,
      transitionMs: 1000,
      logSink: () => {},
    });
    const client = new LambdaClient({
      endpoint: slow.endpoint,
      region: localRegion,
      credentials: localCredentials,
      maxAttempts: 1,
    });
    try {
      const name = uniqueName('serving');
      await client.send(
        new CreateFunctionCommand({
          FunctionName: name,
          Runtime: 'nodejs24.x',
          Role: role,
          Handler: 'index.handler',
          Code: {
            ZipFile: zipSync({
              'index.mjs': strToU8('export const handler = async () => process.env.MODE;'),
            }),
          },
          Environment: { Variables: { MODE: 'old' } },
        }),
      );
      await expect(client.send(new InvokeCommand({ FunctionName: name }))).rejects.toMatchObject({
        name: 'ResourceConflictException',
        message: expect.stringContaining('The function is currently in the following state: Pending'),
      });
      await waitUntilFunctionActiveV2({ client, ...waiterTiming }, { FunctionName: name });
      await client.send(
        new UpdateFunctionConfigurationCommand({
          FunctionName: name,
          Environment: { Variables: { MODE: 'new' } },
        }),
      );
      expect(text(await client.send(new InvokeCommand({ FunctionName: name })))).toBe('"old"');
      await waitUntilFunctionUpdatedV2({ client, ...waiterTiming }, { FunctionName: name });
      expect(text(await client.send(new InvokeCommand({ FunctionName: name })))).toBe('"new"');
    } finally {
      client.destroy();
      await slow.close();
    }
  });

  it('throttles every invocation of a function with reserved concurrency 0, without starting it', async () => {
    const name = await deploy({ 'index.mjs': 'export const handler = async () => 1;' });
    await lambda.send(
      new PutFunctionConcurrencyCommand({ FunctionName: name, ReservedConcurrentExecutions: 0 }),
    );
    const coldStarts = emulator.stats().invocations.coldStarts;
    await expect(lambda.send(new InvokeCommand({ FunctionName: name }))).rejects.toMatchObject({
      name: 'TooManyRequestsException',
      Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded',
      $metadata: { httpStatusCode: 429 },
    });
    expect(emulator.stats().invocations.coldStarts).toBe(coldStarts);
  });

  it('throttles an invocation beyond the reserved concurrency while the others run', async () => {
    const gate = join(scratch, `gate-${uniqueName('gate')}`);
    const name = await deploy(
      {
        'index.mjs': `import { existsSync } from 'node:fs';
          export const handler = async (event) => {
            while (!existsSync(event.gate)) await new Promise((resolve) => setTimeout(resolve, 10));
            return 'released';
          };`,
      },
      { Timeout: 30 },
    );
    await lambda.send(
      new PutFunctionConcurrencyCommand({ FunctionName: name, ReservedConcurrentExecutions: 1 }),
    );
    const first = lambda.send(new InvokeCommand({ FunctionName: name, Payload: JSON.stringify({ gate }) }));
    await waitFor(() => logs.some((line) => line.includes(`[${name}:$LATEST] START`)), {
      what: 'the first invocation to start',
    });
    await expect(
      lambda.send(new InvokeCommand({ FunctionName: name, Payload: JSON.stringify({ gate }) })),
    ).rejects.toMatchObject({
      name: 'TooManyRequestsException',
      Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded',
    });
    writeFileSync(gate, '');
    expect(text(await first)).toBe('"released"');
  });

  it('answers an Event invocation with 202 at once and runs it afterwards', async () => {
    const id = uniqueName('event');
    const gate = join(scratch, `${id}.gate`);
    const done = join(scratch, `${id}.done`);
    const name = await deploy(
      {
        'index.mjs': `import { existsSync, writeFileSync } from 'node:fs';
          export const handler = async (event) => {
            while (!existsSync(event.gate)) await new Promise((resolve) => setTimeout(resolve, 10));
            writeFileSync(event.done, JSON.stringify(event));
          };`,
      },
      { Timeout: 30 },
    );
    const output = await lambda.send(
      new InvokeCommand({
        FunctionName: name,
        InvocationType: 'Event',
        Payload: JSON.stringify({ gate, done, n: 1 }),
      }),
    );
    expect(output.StatusCode).toBe(202);
    expect(existsSync(done)).toBe(false);
    writeFileSync(gate, '');
    await waitFor(() => existsSync(done), { what: 'the asynchronous invocation to run' });
    expect(JSON.parse(readFileSync(done, 'utf8'))).toMatchObject({ n: 1 });
  });

  it('retries a failed Event invocation twice, then drops it', async () => {
    const name = await deploy({
      'index.mjs': 'export const handler = async () => { throw new Error("always"); };',
    });
    const before = emulator.stats().invocations;
    const output = await lambda.send(
      new InvokeCommand({ FunctionName: name, InvocationType: 'Event', Payload: '{}' }),
    );
    expect(output.StatusCode).toBe(202);
    await waitFor(() => emulator.stats().invocations.asyncDropped > before.asyncDropped, {
      what: 'the event to be dropped after its retries',
    });
    const after = emulator.stats().invocations;
    expect(after.asyncRetries - before.asyncRetries).toBe(2);
    expect(after.functionErrors - before.functionErrors).toBe(3);
    expect(logs.some((line) => line.includes(`dropped asynchronous invocation`) && line.includes(name))).toBe(
      true,
    );
  });

  it('holds Event invocations of a throttled function until its concurrency allows them', async () => {
    const done = join(scratch, `${uniqueName('held')}.done`);
    const name = await deploy({
      'index.mjs': `import { writeFileSync } from 'node:fs';
        export const handler = async (event) => { writeFileSync(event.done, 'ran'); };`,
    });
    await lambda.send(
      new PutFunctionConcurrencyCommand({ FunctionName: name, ReservedConcurrentExecutions: 0 }),
    );
    const output = await lambda.send(
      new InvokeCommand({ FunctionName: name, InvocationType: 'Event', Payload: JSON.stringify({ done }) }),
    );
    expect(output.StatusCode).toBe(202);
    expect(emulator.stats().invocations.asyncPending).toBeGreaterThanOrEqual(1);
    expect(existsSync(done)).toBe(false);
    await lambda.send(
      new PutFunctionConcurrencyCommand({ FunctionName: name, ReservedConcurrentExecutions: 1 }),
    );
    await waitFor(() => existsSync(done), { what: 'the held event to run' });
  });

  it('answers DryRun with 204 without running anything, and refuses a payload that is not JSON', async () => {
    const name = await deploy({ 'index.mjs': 'export const handler = async () => 1;' });
    const coldStarts = emulator.stats().invocations.coldStarts;
    const dryRun = await lambda.send(new InvokeCommand({ FunctionName: name, InvocationType: 'DryRun' }));
    expect(dryRun.StatusCode).toBe(204);
    expect(emulator.stats().invocations.coldStarts).toBe(coldStarts);
    await expect(
      lambda.send(new InvokeCommand({ FunctionName: name, Payload: 'not json' })),
    ).rejects.toMatchObject({
      name: 'InvalidRequestContentException',
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('refuses a payload over 6 MB with RequestTooLargeException and keeps the connection usable', async () => {
    const name = await deploy({ 'index.mjs': 'export const handler = async (event) => ({ ok: event.ok });' });
    const tooLarge = JSON.stringify({ ok: true, pad: 'x'.repeat(7 * 1024 * 1024) });
    await expect(
      lambda.send(new InvokeCommand({ FunctionName: name, Payload: tooLarge })),
    ).rejects.toMatchObject({
      name: 'RequestTooLargeException',
    });
    // The same client, the same keep-alive pool: the next call is answered, not reset.
    const next = await lambda.send(new InvokeCommand({ FunctionName: name, Payload: '{"ok":true}' }));
    expect(json(next)).toEqual({ ok: true });
  });

  it('reuses a warm process between invocations and leaves no process behind after close', async () => {
    const own = await startLambdaEmulator({ controlPlaneRateLimit: 0, transitionMs: 0, logSink: () => {} });
    const client = new LambdaClient({
      endpoint: own.endpoint,
      region: localRegion,
      credentials: localCredentials,
      maxAttempts: 1,
    });
    const name = uniqueName('warm');
    await client.send(
      new CreateFunctionCommand({
        FunctionName: name,
        Runtime: 'nodejs24.x',
        Role: role,
        Handler: 'index.handler',
        Code: {
          ZipFile: zipSync({
            'index.mjs': strToU8(`import { spawn } from 'node:child_process';
              export const handler = async () => ({ pid: process.pid, helper: spawn('sleep', ['300']).pid });`),
          }),
        },
      }),
    );
    const first = json(await client.send(new InvokeCommand({ FunctionName: name })));
    const second = json(await client.send(new InvokeCommand({ FunctionName: name })));
    expect(second.pid).toBe(first.pid);
    expect(own.stats()).toMatchObject({ processes: 1, invocations: { coldStarts: 1 } });
    const pids = [first.pid, first.helper, second.helper] as number[];
    expect(pids.every(isAlive)).toBe(true);
    client.destroy();
    await own.close();
    expect(own.stats().processes).toBe(0);
    await waitFor(() => !pids.some(isAlive), {
      what: 'the function process and its subprocesses to be gone',
    });
  });
});

/** Whether a process exists and is not a zombie (a killed process may wait to be reaped). */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
