import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateFunctionCommand,
  GetAliasCommand,
  GetFunctionCommand,
  type LambdaClient,
  ListVersionsByFunctionCommand,
  PutFunctionConcurrencyCommand,
  TagResourceCommand,
  waitUntilFunctionActiveV2,
} from '@aws-sdk/client-lambda';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadResults } from '../../core/conductor/kit/progress.ts';
import { createConductorLambdaClient } from '../../core/conductor/kit/rate-limit.ts';
import { LambdaConductor, type LambdaConductorOptions } from '../../core/conductor/lambda/conductor.ts';
import { changeSk, deploymentPk, resultSk } from '../../core/deployments/keys.ts';
import {
  type ChangeItem,
  type ConductorRequest,
  type ConductorResponse,
  lambdaConductorName,
  type ResultItem,
} from '../../core/deployments/types.ts';
import type { FunctionSpec } from '../../core/spec.ts';
import { createConfigTable, deleteConfigTable } from '../../core/store/table.ts';
import { managedFunctionName } from '../../domain/names.ts';
import { GrecoTags } from '../../domain/tags.ts';
import { type RunningLambdaEmulator, startLambdaEmulator } from '../../local/lambda/index.ts';
import { localAccountId, localCredentials, localRegion } from '../../local/net.ts';
import { type S3Emulator, startS3Emulator } from '../../local/s3/index.ts';
import { sampleZip } from '../../support/fixtures.ts';
import { functionSpec, sampleCodeRef } from '../support/fixtures.ts';

const prefix = 'greco';
const bucket = 'greco-artifacts';
const roleArn = `arn:aws:iam::${localAccountId}:role/greco-data-plane`;
const tableName = `greco-conductor-${crypto.randomUUID().slice(0, 8)}`;

const dynamo = new DynamoDBClient({
  endpoint: inject('dynamodbEndpoint'),
  region: localRegion,
  credentials: localCredentials,
});
const ddb = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });

let s3Emulator: S3Emulator;
let emulator: RunningLambdaEmulator;
let s3: S3Client;
let lambda: LambdaClient;
/** A client of the test itself, unlimited, to arrange and inspect the data plane. */
let inspect: LambdaClient;
const clients: LambdaClient[] = [];

beforeAll(async () => {
  await createConfigTable(dynamo, tableName);
  s3Emulator = await startS3Emulator();
  emulator = await startLambdaEmulator({
    s3Endpoint: s3Emulator.endpoint,
    controlPlaneRateLimit: 0,
    transitionMs: 30,
    logSink: () => {},
  });
  s3 = new S3Client({
    endpoint: s3Emulator.endpoint,
    region: localRegion,
    credentials: localCredentials,
    forcePathStyle: true,
  });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  lambda = lambdaClient(0);
  inspect = lambdaClient(0);
});

afterAll(async () => {
  for (const client of clients) client.destroy();
  s3.destroy();
  await emulator.close();
  await s3Emulator.close();
  await deleteConfigTable(dynamo, tableName);
  dynamo.destroy();
});

function lambdaClient(requestsPerSecond: number): LambdaClient {
  const client = createConductorLambdaClient({
    requestsPerSecond,
    getFunctionRequestsPerSecond: requestsPerSecond,
    baseDelayMs: 20,
    maxDelayMs: 500,
    clientConfig: { endpoint: emulator.endpoint, region: localRegion, credentials: localCredentials },
  });
  clients.push(client);
  return client;
}

function conductor(overrides: Partial<LambdaConductorOptions> = {}): LambdaConductor {
  return new LambdaConductor({
    lambda,
    doc: ddb,
    tableName,
    artifactsBucket: bucket,
    executionRoleArn: roleArn,
    managedPrefix: prefix,
    waiterMinDelaySeconds: 0.05,
    waiterMaxDelaySeconds: 0.2,
    ...overrides,
  });
}

let counter = 0;
/** A fresh workspace per test, so tests never see each other's functions. */
function workspace(): string {
  counter += 1;
  return `ws${process.pid % 10_000}t${counter}`;
}

function deploymentId(): string {
  return `dep-${crypto.randomUUID().replaceAll('-', '').slice(0, 26)}`;
}

/** Uploads the sample zip of `seed` to the artifacts bucket and returns a spec using it. */
async function specWithCode(
  name: string,
  seed: string,
  overrides: Partial<FunctionSpec> = {},
): Promise<FunctionSpec> {
  const code = sampleCodeRef(seed);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: code.s3Key, Body: sampleZip(seed) }));
  return functionSpec(name, { code, ...overrides });
}

/** Writes a deployment's change items, as the deployment steps' "begin" does. */
async function writeChanges(
  ws: string,
  dep: string,
  changes: readonly Omit<ChangeItem, 'managedName'>[],
): Promise<void> {
  for (const change of changes) {
    const item: ChangeItem = { ...change, managedName: managedFunctionName(prefix, ws, change.name) };
    await ddb.send(
      new PutCommand({
        TableName: tableName,
        Item: { pk: deploymentPk(ws, dep), sk: changeSk(change.name), ...item },
      }),
    );
  }
}

/** Calls an action until it answers `done`, failing if it never does within `maxCalls`. */
async function untilDone(
  run: () => Promise<ConductorResponse>,
  maxCalls = 20,
): Promise<{ last: ConductorResponse; calls: number }> {
  for (let calls = 1; calls <= maxCalls; calls++) {
    const last = await run();
    if (last.done) return { last, calls };
  }
  throw new Error(`not done after ${maxCalls} calls`);
}

function request(action: ConductorRequest['action'], ws: string, dep: string): ConductorRequest {
  return { action, workspace: ws, deploymentId: dep, targetEpoch: 1 };
}

async function versionsOf(functionName: string): Promise<string[]> {
  const page = await inspect.send(new ListVersionsByFunctionCommand({ FunctionName: functionName }));
  return (page.Versions ?? []).map((v) => v.Version ?? '').filter((v) => v !== '$LATEST');
}

async function exists(functionName: string): Promise<boolean> {
  try {
    await inspect.send(new GetFunctionCommand({ FunctionName: functionName }));
    return true;
  } catch (error) {
    if ((error as Error).name === 'ResourceNotFoundException') return false;
    throw error;
  }
}

async function liveVersion(functionName: string): Promise<string | undefined> {
  try {
    return (await inspect.send(new GetAliasCommand({ FunctionName: functionName, Name: 'live' })))
      .FunctionVersion;
  } catch (error) {
    if ((error as Error).name === 'ResourceNotFoundException') return undefined;
    throw error;
  }
}

/** Deploys `specs` as creates through prepare and commit; returns the deployment id. */
async function deployCreates(ws: string, specs: readonly FunctionSpec[]): Promise<string> {
  const dep = deploymentId();
  await writeChanges(
    ws,
    dep,
    specs.map((spec) => ({ name: spec.name, action: 'create', spec })),
  );
  const prepared = await untilDone(() => conductor().prepare(request('prepare', ws, dep)));
  expect(prepared.last.vote).toBe('accept');
  await untilDone(() => conductor().commit(request('commit', ws, dep)));
  return dep;
}

/** Creates a function outside greco, with `tags`. */
async function createForeign(functionName: string, tags: Record<string, string>): Promise<void> {
  await inspect.send(
    new CreateFunctionCommand({
      FunctionName: functionName,
      Runtime: 'nodejs24.x',
      Role: roleArn,
      Handler: 'index.handler',
      Code: { ZipFile: sampleZip('foreign') },
      Tags: tags,
    }),
  );
  await waitUntilFunctionActiveV2(
    { client: inspect, maxWaitTime: 10, minDelay: 0.05, maxDelay: 0.1 },
    { FunctionName: functionName },
  );
}

describe('LambdaConductor prepare', () => {
  it('creates and updates functions and publishes versions without touching live', async () => {
    const ws = workspace();
    const keep = await specWithCode('keep', 'keep-v1');
    await deployCreates(ws, [keep]);
    const keepName = managedFunctionName(prefix, ws, 'keep');
    expect(await liveVersion(keepName)).toBe('1');

    const dep = deploymentId();
    const fresh = await specWithCode('fresh', 'fresh-v1', {
      tags: { team: 'blue' },
      environment: { MODE: 'a' },
    });
    const updated = await specWithCode('keep', 'keep-v2', { memoryMiB: 256 });
    await writeChanges(ws, dep, [
      { name: 'fresh', action: 'create', spec: fresh },
      { name: 'keep', action: 'update', spec: updated, previousVersion: '1' },
    ]);
    const { last } = await untilDone(() => conductor().prepare(request('prepare', ws, dep)));

    expect(last).toEqual({ done: true, vote: 'accept', reasons: [], counts: { done: 2, remaining: 0 } });
    const freshName = managedFunctionName(prefix, ws, 'fresh');
    const created = await inspect.send(new GetFunctionCommand({ FunctionName: freshName }));
    expect(created.Tags).toMatchObject({
      [GrecoTags.managed]: 'true',
      [GrecoTags.workspace]: ws,
      [GrecoTags.functionName]: 'fresh',
      team: 'blue',
    });
    expect(created.Configuration).toMatchObject({ Role: roleArn, Environment: { Variables: { MODE: 'a' } } });
    expect(await liveVersion(freshName)).toBeUndefined();
    expect(await versionsOf(freshName)).toEqual(['1']);
    expect(await liveVersion(keepName)).toBe('1');
    expect(await versionsOf(keepName)).toEqual(['1', '2']);
    const v2 = await inspect.send(new GetFunctionCommand({ FunctionName: keepName, Qualifier: '2' }));
    expect(v2.Configuration).toMatchObject({
      MemorySize: 256,
      CodeSha256: Buffer.from(updated.code.sha256, 'hex').toString('base64'),
      Description: `greco deployment ${dep}`,
    });
    const results = await loadResults(
      { doc: ddb, tableName, workspace: ws, deploymentId: dep },
      lambdaConductorName,
    );
    expect(results.get('fresh')).toMatchObject({
      status: 'staged',
      version: '1',
      created: true,
      published: true,
    });
    expect(results.get('keep')).toMatchObject({
      status: 'staged',
      version: '2',
      created: false,
      published: true,
    });
  });

  it('converges after a crash between Lambda writes and their records, without duplicate versions', async () => {
    const ws = workspace();
    const base = await specWithCode('old', 'old-v1');
    await deployCreates(ws, [base]);
    const dep = deploymentId();
    const fresh = await specWithCode('new', 'new-v1');
    const changed = await specWithCode('old', 'old-v2');
    await writeChanges(ws, dep, [
      { name: 'new', action: 'create', spec: fresh },
      { name: 'old', action: 'update', spec: changed, previousVersion: '1' },
    ]);
    await untilDone(() => conductor().prepare(request('prepare', ws, dep)));
    // The crash: the records are back to their first write (pending, nothing known yet).
    for (const name of ['new', 'old']) {
      const pending: ResultItem = {
        conductor: lambdaConductorName,
        name,
        phase: 'prepare',
        status: 'pending',
        attempts: 1,
        updatedAt: new Date().toISOString(),
      };
      await ddb.send(
        new PutCommand({
          TableName: tableName,
          Item: { pk: deploymentPk(ws, dep), sk: resultSk(lambdaConductorName, name), ...pending },
        }),
      );
    }

    const { last } = await untilDone(() => conductor().prepare(request('prepare', ws, dep)));

    expect(last.vote).toBe('accept');
    expect(await versionsOf(managedFunctionName(prefix, ws, 'new'))).toEqual(['1']);
    expect(await versionsOf(managedFunctionName(prefix, ws, 'old'))).toEqual(['1', '2']);
    const results = await loadResults(
      { doc: ddb, tableName, workspace: ws, deploymentId: dep },
      lambdaConductorName,
    );
    expect(results.get('new')).toMatchObject({
      status: 'staged',
      version: '1',
      created: true,
      published: true,
      attempts: 2,
    });
    expect(results.get('old')).toMatchObject({
      status: 'staged',
      version: '2',
      created: false,
      published: true,
      attempts: 2,
    });
  });

  it.each([
    ['RUNTIME_DEPRECATED', { runtime: 'nodejs16.x' }],
    ['RUNTIME_UNSUPPORTED', { runtime: 'cobol85' }],
    ['OUT_OF_BOUNDS', { memoryMiB: 20_000 }],
    ['CONCURRENCY_UNAVAILABLE', { reservedConcurrency: 950 }],
  ] as const)('vetoes with %s before staging anything', async (code, overrides) => {
    const ws = workspace();
    const dep = deploymentId();
    const spec = await specWithCode('f', `veto-${code}`, overrides);
    await writeChanges(ws, dep, [{ name: 'f', action: 'create', spec }]);

    const answer = await conductor().prepare(request('prepare', ws, dep));

    expect(answer).toMatchObject({ done: true, vote: 'veto', reasons: [{ code, function: 'f' }] });
    expect(await exists(managedFunctionName(prefix, ws, 'f'))).toBe(false);
    const again = await conductor().prepare(request('prepare', ws, dep));
    expect(again).toEqual(answer);
  });

  it.each([
    ['NAME_NOT_MANAGED', (_ws: string) => ({ team: 'other' })],
    [
      'NAME_OTHER_WORKSPACE',
      (_ws: string) => ({ [GrecoTags.managed]: 'true', [GrecoTags.workspace]: 'someone-else' }),
    ],
  ] as const)('vetoes with %s and leaves the existing function alone', async (code, tagsOf) => {
    const ws = workspace();
    const dep = deploymentId();
    const functionName = managedFunctionName(prefix, ws, 'taken');
    await createForeign(functionName, tagsOf(ws));
    const spec = await specWithCode('taken', `taken-${code}`);
    await writeChanges(ws, dep, [{ name: 'taken', action: 'create', spec }]);

    const answer = await conductor().prepare(request('prepare', ws, dep));

    expect(answer).toMatchObject({ done: true, vote: 'veto', reasons: [{ code, function: 'taken' }] });
    expect(await versionsOf(functionName)).toEqual([]);
    await untilDone(() => conductor().abort(request('abort', ws, dep)));
    expect(await exists(functionName)).toBe(true);
  });

  it('vetoes with LAMBDA_REJECTED when Lambda refuses the code, and with CODE_MISSING when it is not in the bucket', async () => {
    const ws = workspace();
    const dep = deploymentId();
    const broken = functionSpec('broken', {
      code: { sha256: 'b'.repeat(64), sizeBytes: 9, s3Key: `code/${'b'.repeat(64)}.zip` },
    });
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: broken.code.s3Key, Body: 'not a zip' }));
    const missing = functionSpec('missing', {
      code: { sha256: 'c'.repeat(64), sizeBytes: 9, s3Key: `code/${'c'.repeat(64)}.zip` },
    });
    await writeChanges(ws, dep, [
      { name: 'broken', action: 'create', spec: broken },
      { name: 'missing', action: 'create', spec: missing },
    ]);

    const answer = await conductor().prepare(request('prepare', ws, dep));

    expect(answer.done).toBe(true);
    expect(answer.vote).toBe('veto');
    expect(answer.reasons).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          code: 'LAMBDA_REJECTED',
          function: 'broken',
          message: expect.stringContaining('InvalidParameterValueException'),
        }),
        expect.objectContaining({ code: 'CODE_MISSING', function: 'missing' }),
      ]),
    );
  });

  it('records what a vetoed deployment staged, and abort removes it', async () => {
    const ws = workspace();
    const dep = deploymentId();
    const good = await specWithCode('a-good', 'good');
    const missing = functionSpec('b-missing', {
      code: { sha256: 'd'.repeat(64), sizeBytes: 9, s3Key: `code/${'d'.repeat(64)}.zip` },
    });
    await writeChanges(ws, dep, [
      { name: 'a-good', action: 'create', spec: good },
      { name: 'b-missing', action: 'create', spec: missing },
    ]);

    const answer = await conductor({ maxInFlight: 1 }).prepare(request('prepare', ws, dep));

    expect(answer).toMatchObject({
      done: true,
      vote: 'veto',
      reasons: [{ code: 'CODE_MISSING', function: 'b-missing' }],
    });
    const goodName = managedFunctionName(prefix, ws, 'a-good');
    expect(await exists(goodName)).toBe(true);
    const { last } = await untilDone(() => conductor().abort(request('abort', ws, dep)));
    expect(last).toEqual({ done: true, counts: { done: 2, remaining: 0 } });
    expect(await exists(goodName)).toBe(false);
  });

  it('a small budget answers done: false and a second call finishes', async () => {
    const ws = workspace();
    const dep = deploymentId();
    const specs = await Promise.all(['p', 'q', 'r', 's'].map((name) => specWithCode(name, `budget-${name}`)));
    await writeChanges(
      ws,
      dep,
      specs.map((spec) => ({ name: spec.name, action: 'create', spec })),
    );

    const first = await conductor({ maxInFlight: 1 }).prepare(request('prepare', ws, dep), 0);
    expect(first).toEqual({ done: false, counts: { done: 1, remaining: 3 } });
    const second = await conductor().prepare(request('prepare', ws, dep), 60_000);
    expect(second).toEqual({ done: true, vote: 'accept', reasons: [], counts: { done: 4, remaining: 0 } });
  });
});

describe('LambdaConductor commit and abort', () => {
  it('flips live, applies concurrency, keeps a suspended function at 0 and removes the live alias of deletes', async () => {
    const ws = workspace();
    const first = await Promise.all([
      specWithCode('plain', 'plain-v1', { reservedConcurrency: 5 }),
      specWithCode('paused', 'paused-v1', { reservedConcurrency: 3 }),
      specWithCode('gone', 'gone-v1'),
    ]);
    await deployCreates(ws, first);
    const plainName = managedFunctionName(prefix, ws, 'plain');
    const pausedName = managedFunctionName(prefix, ws, 'paused');
    const goneName = managedFunctionName(prefix, ws, 'gone');
    const plainV1 = await inspect.send(new GetFunctionCommand({ FunctionName: plainName }));
    expect(plainV1.Concurrency?.ReservedConcurrentExecutions).toBe(5);
    expect(plainV1.Tags?.[GrecoTags.reservedConcurrency]).toBe('5');
    // An operator suspends "paused", as the hot path does: the tag first, then concurrency 0.
    const pausedArn = (await inspect.send(new GetFunctionCommand({ FunctionName: pausedName }))).Configuration
      ?.FunctionArn;
    await inspect.send(
      new TagResourceCommand({ Resource: pausedArn, Tags: { [GrecoTags.suspended]: 'true' } }),
    );
    await inspect.send(
      new PutFunctionConcurrencyCommand({ FunctionName: pausedName, ReservedConcurrentExecutions: 0 }),
    );

    const dep = deploymentId();
    await writeChanges(ws, dep, [
      { name: 'gone', action: 'delete', previousVersion: '1' },
      {
        name: 'paused',
        action: 'update',
        spec: await specWithCode('paused', 'paused-v2', { reservedConcurrency: 7 }),
        previousVersion: '1',
      },
      {
        name: 'plain',
        action: 'update',
        spec: await specWithCode('plain', 'plain-v2', { reservedConcurrency: 9 }),
        previousVersion: '1',
      },
    ]);
    await untilDone(() => conductor().prepare(request('prepare', ws, dep)));
    expect(await liveVersion(plainName)).toBe('1');

    const { last } = await untilDone(() => conductor().commit(request('commit', ws, dep)));

    expect(last).toEqual({ done: true, counts: { done: 3, remaining: 0 } });
    expect(await liveVersion(plainName)).toBe('2');
    expect(await liveVersion(pausedName)).toBe('2');
    expect(await liveVersion(goneName)).toBeUndefined();
    expect(await exists(goneName)).toBe(true);
    const plain = await inspect.send(new GetFunctionCommand({ FunctionName: plainName }));
    expect(plain.Concurrency?.ReservedConcurrentExecutions).toBe(9);
    const paused = await inspect.send(new GetFunctionCommand({ FunctionName: pausedName }));
    expect(paused.Concurrency?.ReservedConcurrentExecutions).toBe(0);
    expect(paused.Tags).toMatchObject({
      [GrecoTags.reservedConcurrency]: '7',
      [GrecoTags.suspended]: 'true',
    });
    const again = await conductor().commit(request('commit', ws, dep));
    expect(again).toEqual(last);
  });

  it('abort removes exactly what prepare staged', async () => {
    const ws = workspace();
    const base = await specWithCode('base', 'abort-base-v1');
    await deployCreates(ws, [base]);
    const baseName = managedFunctionName(prefix, ws, 'base');
    const dep = deploymentId();
    await writeChanges(ws, dep, [
      { name: 'added', action: 'create', spec: await specWithCode('added', 'abort-added') },
      {
        name: 'base',
        action: 'update',
        spec: await specWithCode('base', 'abort-base-v2'),
        previousVersion: '1',
      },
    ]);
    await untilDone(() => conductor().prepare(request('prepare', ws, dep)));
    expect(await versionsOf(baseName)).toEqual(['1', '2']);

    const { last } = await untilDone(() => conductor().abort(request('abort', ws, dep)));

    expect(last).toEqual({ done: true, counts: { done: 2, remaining: 0 } });
    expect(await exists(managedFunctionName(prefix, ws, 'added'))).toBe(false);
    expect(await versionsOf(baseName)).toEqual(['1']);
    expect(await liveVersion(baseName)).toBe('1');
    const results = await loadResults(
      { doc: ddb, tableName, workspace: ws, deploymentId: dep },
      lambdaConductorName,
    );
    expect([...results.values()].map((r) => r.status)).toEqual(['aborted', 'aborted']);
    expect(await conductor().abort(request('abort', ws, dep))).toEqual(last);
  });

  it('refuses to commit a change prepare did not stage', async () => {
    const ws = workspace();
    const dep = deploymentId();
    await writeChanges(ws, dep, [{ name: 'x', action: 'create', spec: await specWithCode('x', 'unstaged') }]);
    await expect(conductor().commit(request('commit', ws, dep))).rejects.toMatchObject({
      name: 'ConductorStateError',
    });
  });
});

describe('LambdaConductor under throttling', () => {
  it('never fails prepare or commit for throttling alone', async () => {
    const throttled = await startLambdaEmulator({
      s3Endpoint: s3Emulator.endpoint,
      controlPlaneRateLimit: 15,
      transitionMs: 30,
      logSink: () => {},
    });
    const client = createConductorLambdaClient({
      requestsPerSecond: 10,
      baseDelayMs: 20,
      maxDelayMs: 500,
      clientConfig: { endpoint: throttled.endpoint, region: localRegion, credentials: localCredentials },
    });
    try {
      throttled.setFaults({ throttleRate: 0.1 });
      const ws = workspace();
      const dep = deploymentId();
      const specs = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          specWithCode(`t${i}`, `throttle-${i}`, { reservedConcurrency: 1 }),
        ),
      );
      await writeChanges(
        ws,
        dep,
        specs.map((spec) => ({ name: spec.name, action: 'create', spec })),
      );
      const throttledConductor = conductor({ lambda: client });

      const prepared = await untilDone(() => throttledConductor.prepare(request('prepare', ws, dep), 20_000));
      const committed = await untilDone(() => throttledConductor.commit(request('commit', ws, dep), 20_000));

      expect(prepared.last).toMatchObject({ done: true, vote: 'accept', counts: { done: 12, remaining: 0 } });
      expect(committed.last).toEqual({ done: true, counts: { done: 12, remaining: 0 } });
      expect(throttled.stats().injected.throttles).toBeGreaterThan(0);
    } finally {
      client.destroy();
      await throttled.close();
    }
  });
});
