import { createHash } from 'node:crypto';
import {
  CreateAliasCommand,
  CreateFunctionCommand,
  type CreateFunctionCommandInput,
  DeleteAliasCommand,
  DeleteFunctionCommand,
  DeleteFunctionConcurrencyCommand,
  GetAccountSettingsCommand,
  GetAliasCommand,
  GetFunctionCommand,
  GetFunctionConcurrencyCommand,
  GetFunctionConfigurationCommand,
  InvokeCommand,
  LambdaClient,
  ListAliasesCommand,
  ListFunctionsCommand,
  ListTagsCommand,
  ListVersionsByFunctionCommand,
  PublishVersionCommand,
  PutFunctionConcurrencyCommand,
  paginateListFunctions,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateAliasCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2,
  waitUntilPublishedVersionActive,
} from '@aws-sdk/client-lambda';
import { strToU8, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningLambdaEmulator, startLambdaEmulator } from '../../local/lambda/index.ts';
import { localAccountId, localCredentials, localRegion, waitFor } from '../../local/net.ts';

const role = `arn:aws:iam::${localAccountId}:role/greco-test`;
const waiterTiming = { maxWaitTime: 20, minDelay: 1, maxDelay: 1 };

function zipOf(source: string): Uint8Array {
  return zipSync({ 'index.mjs': strToU8(source) });
}

function clientFor(endpoint: string): LambdaClient {
  return new LambdaClient({ endpoint, region: localRegion, credentials: localCredentials, maxAttempts: 1 });
}

let counter = 0;
function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}`;
}

describe('Lambda emulator control plane', () => {
  let emulator: RunningLambdaEmulator;
  let lambda: LambdaClient;

  beforeAll(async () => {
    emulator = await startLambdaEmulator({ controlPlaneRateLimit: 0, transitionMs: 150, logSink: () => {} });
    lambda = clientFor(emulator.endpoint);
  });
  afterAll(async () => {
    lambda.destroy();
    await emulator.close();
  });

  async function create(
    name: string,
    source = 'export const handler = async () => "v1";',
    extra: Partial<CreateFunctionCommandInput> = {},
  ) {
    return lambda.send(
      new CreateFunctionCommand({
        FunctionName: name,
        Runtime: 'nodejs22.x',
        Role: role,
        Handler: 'index.handler',
        Code: { ZipFile: zipOf(source) },
        ...extra,
      }),
    );
  }

  /** Polls GetFunction until $LATEST is Active and its last update Successful. */
  async function settled(name: string): Promise<void> {
    await waitFor(
      async () => {
        const { Configuration } = await lambda.send(new GetFunctionCommand({ FunctionName: name }));
        return Configuration?.State === 'Active' && Configuration.LastUpdateStatus === 'Successful';
      },
      { what: `${name} to settle` },
    );
  }

  it('creates a function Pending, then Active through waitUntilFunctionActiveV2', async () => {
    const name = uniqueName('lifecycle');
    const zip = zipOf('export const handler = async () => "v1";');
    const created = await lambda.send(
      new CreateFunctionCommand({
        FunctionName: name,
        Runtime: 'nodejs22.x',
        Role: role,
        Handler: 'index.handler',
        Code: { ZipFile: zip },
        MemorySize: 256,
        Timeout: 10,
        Description: 'first',
        Environment: { Variables: { STAGE: 'test' } },
        Tags: { team: 'greco' },
      }),
    );
    expect(created.$metadata.httpStatusCode).toBe(201);
    expect(created).toMatchObject({
      FunctionName: name,
      FunctionArn: `arn:aws:lambda:${localRegion}:${localAccountId}:function:${name}`,
      Version: '$LATEST',
      State: 'Pending',
      StateReasonCode: 'Creating',
      CodeSha256: createHash('sha256').update(zip).digest('base64'),
      CodeSize: zip.byteLength,
      MemorySize: 256,
      Timeout: 10,
      Description: 'first',
      Environment: { Variables: { STAGE: 'test' } },
      PackageType: 'Zip',
      Architectures: ['x86_64'],
    });

    const waited = await waitUntilFunctionActiveV2(
      { client: lambda, ...waiterTiming },
      { FunctionName: name },
    );
    expect(waited.state).toBe('SUCCESS');
    const got = await lambda.send(new GetFunctionCommand({ FunctionName: name }));
    expect(got.Configuration).toMatchObject({ State: 'Active', LastUpdateStatus: 'Successful' });
    expect(got.Tags).toEqual({ team: 'greco' });
    expect(got.Code?.RepositoryType).toBe('S3');
    const download = await fetch(got.Code?.Location ?? '');
    expect(
      createHash('sha256')
        .update(new Uint8Array(await download.arrayBuffer()))
        .digest('base64'),
    ).toBe(created.CodeSha256);
  });

  it('answers ResourceConflictException to an update while the last one is InProgress, and the waiter path works', async () => {
    const name = uniqueName('update');
    await create(name);
    await waitUntilFunctionActiveV2({ client: lambda, ...waiterTiming }, { FunctionName: name });
    const before = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: name }));

    const updating = await lambda.send(
      new UpdateFunctionConfigurationCommand({ FunctionName: name, MemorySize: 512, Description: 'second' }),
    );
    expect(updating).toMatchObject({ LastUpdateStatus: 'InProgress', MemorySize: 512, State: 'Active' });
    expect(updating.RevisionId).not.toBe(before.RevisionId);

    await expect(
      lambda.send(
        new UpdateFunctionCodeCommand({
          FunctionName: name,
          ZipFile: zipOf('export const handler = async () => 2;'),
        }),
      ),
    ).rejects.toMatchObject({
      name: 'ResourceConflictException',
      $metadata: { httpStatusCode: 409 },
      message: expect.stringContaining('An update is in progress for resource'),
    });
    await expect(lambda.send(new PublishVersionCommand({ FunctionName: name }))).rejects.toMatchObject({
      name: 'ResourceConflictException',
    });

    const waited = await waitUntilFunctionUpdatedV2(
      { client: lambda, ...waiterTiming },
      { FunctionName: name },
    );
    expect(waited.state).toBe('SUCCESS');
    const after = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: name }));
    expect(after).toMatchObject({ LastUpdateStatus: 'Successful', MemorySize: 512, Description: 'second' });

    await expect(
      lambda.send(
        new UpdateFunctionConfigurationCommand({
          FunctionName: name,
          Timeout: 5,
          RevisionId: before.RevisionId,
        }),
      ),
    ).rejects.toMatchObject({ name: 'PreconditionFailedException', $metadata: { httpStatusCode: 412 } });
  });

  it('publishes immutable versions with the CodeSha256 and RevisionId preconditions', async () => {
    const name = uniqueName('publish');
    const created = await create(name);
    await settled(name);

    await expect(
      lambda.send(
        new PublishVersionCommand({
          FunctionName: name,
          CodeSha256: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
        }),
      ),
    ).rejects.toMatchObject({
      name: 'InvalidParameterValueException',
      message: expect.stringContaining('is different from current CodeSHA256 in $LATEST'),
    });
    await expect(
      lambda.send(
        new PublishVersionCommand({ FunctionName: name, RevisionId: '00000000-0000-0000-0000-000000000000' }),
      ),
    ).rejects.toMatchObject({ name: 'PreconditionFailedException' });

    const v1 = await lambda.send(
      new PublishVersionCommand({ FunctionName: name, CodeSha256: created.CodeSha256, Description: 'one' }),
    );
    expect(v1).toMatchObject({
      Version: '1',
      FunctionArn: `arn:aws:lambda:${localRegion}:${localAccountId}:function:${name}:1`,
      Description: 'one',
      CodeSha256: created.CodeSha256,
    });
    const active = await waitUntilPublishedVersionActive(
      { client: lambda, ...waiterTiming },
      { FunctionName: name, Qualifier: '1' },
    );
    expect(active.state).toBe('SUCCESS');

    const again = await lambda.send(new PublishVersionCommand({ FunctionName: name }));
    expect(again.Version).toBe('1');

    await lambda.send(
      new UpdateFunctionCodeCommand({
        FunctionName: name,
        ZipFile: zipOf('export const handler = async () => "v2";'),
      }),
    );
    await waitUntilFunctionUpdatedV2({ client: lambda, ...waiterTiming }, { FunctionName: name });
    const v2 = await lambda.send(new PublishVersionCommand({ FunctionName: name }));
    expect(v2.Version).toBe('2');
    expect(v2.CodeSha256).not.toBe(v1.CodeSha256);

    const v1Now = await lambda.send(
      new GetFunctionConfigurationCommand({ FunctionName: name, Qualifier: '1' }),
    );
    expect(v1Now.CodeSha256).toBe(v1.CodeSha256);
    const versions = await lambda.send(new ListVersionsByFunctionCommand({ FunctionName: name }));
    expect(versions.Versions?.map((version) => version.Version)).toEqual(['$LATEST', '1', '2']);
    const firstPage = await lambda.send(
      new ListVersionsByFunctionCommand({ FunctionName: name, MaxItems: 2 }),
    );
    expect(firstPage.Versions?.map((version) => version.Version)).toEqual(['$LATEST', '1']);
    const secondPage = await lambda.send(
      new ListVersionsByFunctionCommand({ FunctionName: name, MaxItems: 2, Marker: firstPage.NextMarker }),
    );
    expect(secondPage.Versions?.map((version) => version.Version)).toEqual(['2']);
    expect(secondPage.NextMarker).toBeUndefined();
  });

  it('manages aliases: conflicts, missing versions, RevisionId, and versions they protect', async () => {
    const name = uniqueName('alias');
    await create(name);
    await settled(name);
    await lambda.send(new PublishVersionCommand({ FunctionName: name }));

    const alias = await lambda.send(
      new CreateAliasCommand({ FunctionName: name, Name: 'live', FunctionVersion: '1' }),
    );
    expect(alias.$metadata.httpStatusCode).toBe(201);
    expect(alias).toMatchObject({
      AliasArn: `arn:aws:lambda:${localRegion}:${localAccountId}:function:${name}:live`,
      Name: 'live',
      FunctionVersion: '1',
    });
    await expect(
      lambda.send(new CreateAliasCommand({ FunctionName: name, Name: 'live', FunctionVersion: '1' })),
    ).rejects.toMatchObject({
      name: 'ResourceConflictException',
      $metadata: { httpStatusCode: 409 },
      message: `Alias already exists: ${alias.AliasArn}`,
    });
    await expect(
      lambda.send(new CreateAliasCommand({ FunctionName: name, Name: 'next', FunctionVersion: '9' })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 404 } });
    await expect(
      lambda.send(new GetAliasCommand({ FunctionName: name, Name: 'next' })),
    ).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    await expect(
      lambda.send(
        new UpdateAliasCommand({
          FunctionName: name,
          Name: 'live',
          FunctionVersion: '$LATEST',
          RevisionId: 'stale',
        }),
      ),
    ).rejects.toMatchObject({ name: 'PreconditionFailedException' });

    const byAlias = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: `${name}:live` }));
    expect(byAlias).toMatchObject({ Version: '1', FunctionArn: alias.AliasArn });

    await expect(
      lambda.send(new DeleteFunctionCommand({ FunctionName: name, Qualifier: '1' })),
    ).rejects.toMatchObject({
      name: 'ResourceConflictException',
      message: 'Unable to delete version because the following aliases reference it: [live]',
    });
    const listed = await lambda.send(new ListAliasesCommand({ FunctionName: name, FunctionVersion: '1' }));
    expect(listed.Aliases?.map((entry) => entry.Name)).toEqual(['live']);

    await lambda.send(new DeleteAliasCommand({ FunctionName: name, Name: 'live' }));
    await lambda.send(new DeleteFunctionCommand({ FunctionName: name, Qualifier: '1' }));
    await expect(
      lambda.send(new GetFunctionConfigurationCommand({ FunctionName: name, Qualifier: '1' })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await expect(
      lambda.send(new DeleteFunctionCommand({ FunctionName: name, Qualifier: '$LATEST' })),
    ).rejects.toMatchObject({
      name: 'InvalidParameterValueException',
    });
    const latest = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: name }));
    expect(latest.Version).toBe('$LATEST');
  });

  it('accepts names, partial ARNs and full ARNs, and refuses what is none of them', async () => {
    const name = uniqueName('names');
    await create(name);
    const arn = `arn:aws:lambda:${localRegion}:${localAccountId}:function:${name}`;
    for (const identifier of [name, `${localAccountId}:function:${name}`, arn]) {
      const got = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: identifier }));
      expect(got.FunctionName).toBe(name);
    }
    await expect(
      lambda.send(
        new GetFunctionCommand({
          FunctionName: `arn:aws:lambda:${localRegion}:111111111111:function:${name}`,
        }),
      ),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await expect(lambda.send(new GetFunctionCommand({ FunctionName: 'not a name' }))).rejects.toMatchObject({
      name: 'ValidationException',
      $metadata: { httpStatusCode: 400 },
    });
    await expect(
      lambda.send(new GetFunctionCommand({ FunctionName: `${name}:live`, Qualifier: '3' })),
    ).rejects.toMatchObject({ name: 'InvalidParameterValueException' });
  });

  it.each([
    ['GetFunction', (name: string) => new GetFunctionCommand({ FunctionName: name })],
    [
      'GetFunctionConfiguration',
      (name: string) => new GetFunctionConfigurationCommand({ FunctionName: name }),
    ],
    [
      'UpdateFunctionCode',
      (name: string) => new UpdateFunctionCodeCommand({ FunctionName: name, ZipFile: zipOf('') }),
    ],
    ['DeleteFunction', (name: string) => new DeleteFunctionCommand({ FunctionName: name })],
    ['PublishVersion', (name: string) => new PublishVersionCommand({ FunctionName: name })],
    [
      'PutFunctionConcurrency',
      (name: string) =>
        new PutFunctionConcurrencyCommand({ FunctionName: name, ReservedConcurrentExecutions: 1 }),
    ],
    ['ListAliases', (name: string) => new ListAliasesCommand({ FunctionName: name })],
    ['Invoke', (name: string) => new InvokeCommand({ FunctionName: name })],
  ] as const)(
    'answers 404 ResourceNotFoundException to %s of an unknown function',
    async (_operation, command) => {
      const name = uniqueName('missing');
      await expect(lambda.send(command(name) as never)).rejects.toMatchObject({
        name: 'ResourceNotFoundException',
        $metadata: { httpStatusCode: 404 },
        message: `Function not found: arn:aws:lambda:${localRegion}:${localAccountId}:function:${name}`,
      });
    },
  );

  it('answers an unknown path with UnknownOperationException and a malformed one with 400', async () => {
    const unknown = await fetch(`${emulator.endpoint}/2015-03-31/nothing-here`);
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');
    const malformed = await fetch(`${emulator.endpoint}/2015-03-31/functions/%E0%A4%A`);
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get('x-amzn-errortype')).toBe('InvalidRequestContentException');
    expect(await malformed.json()).toMatchObject({
      Type: 'User',
      message: expect.stringContaining('URL encoding'),
    });
  });

  it('refuses a second CreateFunction of the same name', async () => {
    const name = uniqueName('twice');
    await create(name);
    await expect(create(name)).rejects.toMatchObject({
      name: 'ResourceConflictException',
      message: `Function already exist: ${name}`,
    });
  });

  it.each([
    [
      'a timeout over 900 s',
      { Timeout: 901 },
      'ValidationException',
      "at 'timeout' failed to satisfy constraint",
    ],
    [
      'memory under 128 MiB',
      { MemorySize: 64 },
      'ValidationException',
      "at 'memorySize' failed to satisfy constraint",
    ],
    ['an unknown runtime', { Runtime: 'cobol85' as never }, 'ValidationException', "at 'runtime'"],
    [
      'a deprecated runtime',
      { Runtime: 'nodejs16.x' as never },
      'InvalidParameterValueException',
      'no longer supported',
    ],
    ['a role that is not an IAM role ARN', { Role: 'admin' }, 'ValidationException', "at 'role'"],
    [
      'a reserved environment variable',
      { Environment: { Variables: { AWS_REGION: 'eu-west-1' } } },
      'InvalidParameterValueException',
      'Reserved keys used in this request: AWS_REGION',
    ],
    [
      'environment variables over 4 KB',
      { Environment: { Variables: { BIG: 'x'.repeat(4100) } } },
      'InvalidParameterValueException',
      'exceeded the 4KB limit',
    ],
    [
      'code in S3',
      { Code: { S3Bucket: 'bucket', S3Key: 'code.zip' } },
      'InvalidParameterValueException',
      'ZipFile',
    ],
    [
      'bytes that are not a zip',
      { Code: { ZipFile: strToU8('nope') } },
      'InvalidParameterValueException',
      'Could not unzip',
    ],
    [
      'layers',
      { Layers: ['arn:aws:lambda:us-east-1:000000000000:layer:x:1'] },
      'InvalidParameterValueException',
      'Layers',
    ],
  ] as const)('refuses %s and creates nothing', async (_case, extra, errorName, message) => {
    const name = uniqueName('invalid');
    await expect(create(name, undefined, extra as Partial<CreateFunctionCommandInput>)).rejects.toMatchObject(
      {
        name: errorName,
        $metadata: { httpStatusCode: 400 },
        message: expect.stringContaining(message),
      },
    );
    await expect(lambda.send(new GetFunctionCommand({ FunctionName: name }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });

  it('pages through ListFunctions with MaxItems and Marker, in name order, without state fields', async () => {
    const prefix = uniqueName('page');
    const names = Array.from({ length: 7 }, (_, index) => `${prefix}-${index}`);
    for (const name of names) await create(name);

    const seen: string[] = [];
    let marker: string | undefined;
    let pages = 0;
    do {
      const page = await lambda.send(new ListFunctionsCommand({ MaxItems: 3, Marker: marker }));
      pages += 1;
      expect(page.Functions?.length).toBeLessThanOrEqual(3);
      for (const fn of page.Functions ?? []) {
        expect(fn.State).toBeUndefined();
        expect(fn.LastUpdateStatus).toBeUndefined();
        seen.push(fn.FunctionName ?? '');
      }
      marker = page.NextMarker;
    } while (marker !== undefined);
    expect(pages).toBeGreaterThanOrEqual(3);
    expect(seen).toEqual([...seen].sort());
    expect(seen.filter((name) => name.startsWith(`${prefix}-`))).toEqual(names);

    const paginated: string[] = [];
    for await (const page of paginateListFunctions({ client: lambda, pageSize: 2 }, {})) {
      for (const fn of page.Functions ?? []) paginated.push(fn.FunctionName ?? '');
    }
    expect(paginated).toEqual(seen);
  });

  it('reserves concurrency only while 100 executions stay unreserved in the account', async () => {
    const big = uniqueName('reserve-big');
    const small = uniqueName('reserve-small');
    await create(big);
    await create(small);
    expect(await lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: big }))).not.toHaveProperty(
      'ReservedConcurrentExecutions',
    );

    const put = await lambda.send(
      new PutFunctionConcurrencyCommand({ FunctionName: big, ReservedConcurrentExecutions: 850 }),
    );
    expect(put.ReservedConcurrentExecutions).toBe(850);
    const settings = await lambda.send(new GetAccountSettingsCommand({}));
    expect(settings.AccountLimit).toMatchObject({
      ConcurrentExecutions: 1000,
      UnreservedConcurrentExecutions: 150,
    });

    await expect(
      lambda.send(
        new PutFunctionConcurrencyCommand({ FunctionName: small, ReservedConcurrentExecutions: 60 }),
      ),
    ).rejects.toMatchObject({
      name: 'InvalidParameterValueException',
      message: expect.stringContaining(
        "decreases account's UnreservedConcurrentExecution below its minimum value of [100]",
      ),
    });
    expect(await lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: small }))).not.toHaveProperty(
      'ReservedConcurrentExecutions',
    );
    await lambda.send(
      new PutFunctionConcurrencyCommand({ FunctionName: small, ReservedConcurrentExecutions: 50 }),
    );
    const got = await lambda.send(new GetFunctionCommand({ FunctionName: small }));
    expect(got.Concurrency?.ReservedConcurrentExecutions).toBe(50);

    await lambda.send(new DeleteFunctionConcurrencyCommand({ FunctionName: big }));
    await lambda.send(new DeleteFunctionConcurrencyCommand({ FunctionName: small }));
    const after = await lambda.send(new GetAccountSettingsCommand({}));
    expect(after.AccountLimit?.UnreservedConcurrentExecutions).toBe(1000);
  });

  it('tags functions by ARN, and refuses tags on a version ARN', async () => {
    const name = uniqueName('tags');
    const created = await create(name, undefined, { Tags: { a: '1' } });
    const arn = created.FunctionArn ?? '';
    await lambda.send(new TagResourceCommand({ Resource: arn, Tags: { b: '2', c: '3' } }));
    await lambda.send(new UntagResourceCommand({ Resource: arn, TagKeys: ['a', 'c'] }));
    expect((await lambda.send(new ListTagsCommand({ Resource: arn }))).Tags).toEqual({ b: '2' });
    await expect(
      lambda.send(new TagResourceCommand({ Resource: `${arn}:1`, Tags: { x: 'y' } })),
    ).rejects.toMatchObject({
      name: 'InvalidParameterValueException',
    });
    await expect(
      lambda.send(new TagResourceCommand({ Resource: arn, Tags: { 'aws:reserved': 'no' } })),
    ).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('deletes a function with its versions and aliases', async () => {
    const name = uniqueName('delete');
    await create(name);
    await settled(name);
    await lambda.send(new PublishVersionCommand({ FunctionName: name }));
    await lambda.send(new CreateAliasCommand({ FunctionName: name, Name: 'live', FunctionVersion: '1' }));
    const deleted = await lambda.send(new DeleteFunctionCommand({ FunctionName: name }));
    expect(deleted.$metadata.httpStatusCode).toBe(204);
    await expect(
      lambda.send(new GetAliasCommand({ FunctionName: name, Name: 'live' })),
    ).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    await expect(
      lambda.send(new GetFunctionConfigurationCommand({ FunctionName: name, Qualifier: '1' })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });
});

describe('Lambda emulator rate limit and fault injection', () => {
  let emulator: RunningLambdaEmulator;
  let lambda: LambdaClient;

  beforeAll(async () => {
    emulator = await startLambdaEmulator({ logSink: () => {} });
    lambda = clientFor(emulator.endpoint);
  });
  afterAll(async () => {
    lambda.destroy();
    await emulator.close();
  });

  async function burst(
    count: number,
    send: () => Promise<unknown>,
  ): Promise<{ ok: number; errors: unknown[] }> {
    const results = await Promise.allSettled(Array.from({ length: count }, send));
    return {
      ok: results.filter((result) => result.status === 'fulfilled').length,
      errors: results.flatMap((result) => (result.status === 'rejected' ? [result.reason] : [])),
    };
  }

  it('throttles a burst of control-plane calls beyond 15 per second with TooManyRequestsException', async () => {
    emulator.setControlPlaneRateLimit(15);
    const before = emulator.stats();
    const { ok, errors } = await burst(60, () => lambda.send(new ListFunctionsCommand({})));
    expect(ok).toBeGreaterThanOrEqual(15);
    expect(errors.length).toBeGreaterThan(0);
    expect(ok + errors.length).toBe(60);
    for (const error of errors) {
      expect(error).toMatchObject({
        name: 'TooManyRequestsException',
        Reason: 'CallerRateLimitExceeded',
        $metadata: { httpStatusCode: 429 },
      });
    }
    const after = emulator.stats();
    expect((after.rateLimited.ListFunctions ?? 0) - (before.rateLimited.ListFunctions ?? 0)).toBe(
      errors.length,
    );
    expect(after.throttled - before.throttled).toBe(errors.length);
  });

  it('shares one budget across operations, keeps GetFunction on its own, and never limits Invoke', async () => {
    emulator.setControlPlaneRateLimit(1);
    await lambda.send(new GetAccountSettingsCommand({}));
    await expect(lambda.send(new ListFunctionsCommand({}))).rejects.toMatchObject({
      name: 'TooManyRequestsException',
    });
    const gets = await burst(10, () => lambda.send(new GetFunctionCommand({ FunctionName: 'absent' })));
    const invokes = await burst(10, () => lambda.send(new InvokeCommand({ FunctionName: 'absent' })));
    for (const error of [...gets.errors, ...invokes.errors]) {
      expect(error).toMatchObject({ name: 'ResourceNotFoundException' });
    }
    emulator.setControlPlaneRateLimit(0);
    const unlimited = await burst(40, () => lambda.send(new ListFunctionsCommand({})));
    expect(unlimited.ok).toBe(40);
  });

  it('injects ServiceException and throttles into control-plane calls only, changing nothing', async () => {
    emulator.setControlPlaneRateLimit(0);
    const name = uniqueName('faulted');
    emulator.setFaults({ errorRate: 1 });
    await expect(
      lambda.send(
        new CreateFunctionCommand({
          FunctionName: name,
          Runtime: 'nodejs22.x',
          Role: role,
          Handler: 'index.handler',
          Code: { ZipFile: zipOf('export const handler = async () => 1;') },
        }),
      ),
    ).rejects.toMatchObject({ name: 'ServiceException', $metadata: { httpStatusCode: 500 } });
    await expect(lambda.send(new InvokeCommand({ FunctionName: name }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    emulator.setFaults({ throttleRate: 1 });
    await expect(lambda.send(new GetAccountSettingsCommand({}))).rejects.toMatchObject({
      name: 'TooManyRequestsException',
      $metadata: { httpStatusCode: 429 },
    });
    emulator.setFaults({});
    await expect(lambda.send(new GetFunctionCommand({ FunctionName: name }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    expect(emulator.stats().injected).toEqual({ errors: 1, throttles: 1 });
    expect(() => emulator.setFaults({ errorRate: 1.5 })).toThrow(RangeError);
    expect(() => emulator.setFaults({ errorRate: 0.6, throttleRate: 0.6 })).toThrow(RangeError);
    expect(() => emulator.setFaults({ latencyMs: -1 })).toThrow(RangeError);
  });

  it('exposes faults, rate limit and stats on its admin HTTP surface', async () => {
    const post = (path: string, body: unknown) =>
      fetch(`${emulator.endpoint}${path}`, { method: 'POST', body: JSON.stringify(body) });

    const faults = await post('/_greco/faults', { errorRate: 1, latencyMs: 5 });
    expect(faults.status).toBe(200);
    expect(await faults.json()).toEqual({ errorRate: 1, throttleRate: 0, latencyMs: 5 });
    await expect(lambda.send(new ListFunctionsCommand({}))).rejects.toMatchObject({
      name: 'ServiceException',
    });
    expect((await post('/_greco/faults', { errorRate: 2 })).status).toBe(400);
    expect(await (await fetch(`${emulator.endpoint}/_greco/faults`)).json()).toMatchObject({ errorRate: 1 });
    await post('/_greco/faults', {});

    const limited = await post('/_greco/rate-limit', { requestsPerSecond: 1 });
    expect(await limited.json()).toEqual({ requestsPerSecond: 1 });
    await lambda.send(new ListFunctionsCommand({}));
    await expect(lambda.send(new ListFunctionsCommand({}))).rejects.toMatchObject({
      name: 'TooManyRequestsException',
    });
    expect((await post('/_greco/rate-limit', { requestsPerSecond: -3 })).status).toBe(400);
    await post('/_greco/rate-limit', { requestsPerSecond: 0 });

    const stats = (await (await fetch(`${emulator.endpoint}/_greco/stats`)).json()) as { throttled: number };
    expect(stats).toMatchObject({ operations: { ListFunctions: expect.any(Number) }, processes: 0 });
    expect(stats.throttled).toBeGreaterThan(0);
  });
});
