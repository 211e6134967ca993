/**
 * The Lambda conductor's per-workspace execution roles (core/conductor/lambda/roles.ts) against
 * the local IAM and Lambda emulators: a workspace's first deployment creates its role once, with
 * its path, boundary and log policy; another workspace gets its own; functions carry their
 * workspace's role and log group; a role Lambda cannot assume yet leaves the change pending.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetRoleCommand, GetRolePolicyCommand, IAMClient, ListRolesCommand } from '@aws-sdk/client-iam';
import {
  CreateFunctionCommand,
  GetFunctionConfigurationCommand,
  type LambdaClient,
} from '@aws-sdk/client-lambda';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createConductorLambdaClient } from '../../core/conductor/kit/rate-limit.ts';
import { LambdaConductor, type LambdaConductorOptions } from '../../core/conductor/lambda/conductor.ts';
import { changeSk, deploymentPk } from '../../core/deployments/keys.ts';
import type { ChangeItem, ConductorRequest, ConductorResponse } from '../../core/deployments/types.ts';
import type { FunctionSpec } from '../../core/spec.ts';
import { createConfigTable, deleteConfigTable } from '../../core/store/table.ts';
import {
  workspaceLogGroupName,
  workspaceRoleName,
  workspaceRolePath,
  workspaceRolePolicy,
  workspaceRolePolicyName,
  workspaceRoleTrustPolicy,
} from '../../domain/data-plane-roles.ts';
import { managedFunctionName } from '../../domain/names.ts';
import { type RunningIamEmulator, startIamEmulator } from '../../local/iam/index.ts';
import { type RunningLambdaEmulator, startLambdaEmulator } from '../../local/lambda/index.ts';
import { localAccountId, localCredentials, localRegion } from '../../local/net.ts';
import { type S3Emulator, startS3Emulator } from '../../local/s3/index.ts';
import { sampleZip } from '../../support/fixtures.ts';
import { functionSpec, sampleCodeRef } from '../support/fixtures.ts';

const prefix = 'greco';
const bucket = 'greco-artifacts';
const sharedRoleArn = `arn:aws:iam::${localAccountId}:role/greco-data-plane`;
const boundaryArn = `arn:aws:iam::${localAccountId}:policy/greco-data-plane-boundary`;
const tableName = `greco-roles-${crypto.randomUUID().slice(0, 8)}`;

const dynamo = new DynamoDBClient({
  endpoint: inject('dynamodbEndpoint'),
  region: localRegion,
  credentials: localCredentials,
});
const ddb = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });

let s3Emulator: S3Emulator;
let lambdaEmulator: RunningLambdaEmulator;
let iamEmulator: RunningIamEmulator;
let s3: S3Client;
let lambda: LambdaClient;
let iam: IAMClient;
/** IAM actions the conductor sent, in order (a middleware of {@link iam}). */
const iamCalls: string[] = [];

beforeAll(async () => {
  await createConfigTable(dynamo, tableName);
  s3Emulator = await startS3Emulator();
  lambdaEmulator = await startLambdaEmulator({
    s3Endpoint: s3Emulator.endpoint,
    controlPlaneRateLimit: 0,
    transitionMs: 30,
    logSink: () => {},
  });
  iamEmulator = await startIamEmulator();
  s3 = new S3Client({
    endpoint: s3Emulator.endpoint,
    region: localRegion,
    credentials: localCredentials,
    forcePathStyle: true,
  });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  lambda = createConductorLambdaClient({
    requestsPerSecond: 0,
    getFunctionRequestsPerSecond: 0,
    baseDelayMs: 20,
    maxDelayMs: 500,
    clientConfig: { endpoint: lambdaEmulator.endpoint, region: localRegion, credentials: localCredentials },
  });
  iam = new IAMClient({ endpoint: iamEmulator.endpoint, region: localRegion, credentials: localCredentials });
  iam.middlewareStack.add(
    (next, context) => (args) => {
      iamCalls.push(String(context.commandName).replace(/Command$/, ''));
      return next(args);
    },
    { step: 'initialize', name: 'recordIamCalls' },
  );
});

afterAll(async () => {
  lambda?.destroy();
  iam?.destroy();
  s3?.destroy();
  await lambdaEmulator?.close();
  await iamEmulator?.close();
  await s3Emulator?.close();
  await deleteConfigTable(dynamo, tableName);
  dynamo.destroy();
});

function conductor(overrides: Partial<LambdaConductorOptions> = {}): LambdaConductor {
  return new LambdaConductor({
    lambda,
    doc: ddb,
    tableName,
    artifactsBucket: bucket,
    executionRoleArn: sharedRoleArn,
    managedPrefix: prefix,
    workspaceRoles: { iam, boundaryArn },
    waiterMinDelaySeconds: 0.05,
    waiterMaxDelaySeconds: 0.2,
    ...overrides,
  });
}

let counter = 0;
function workspace(): string {
  counter += 1;
  return `rl${process.pid % 10_000}t${counter}`;
}

function deploymentId(): string {
  return `dep-${crypto.randomUUID().replaceAll('-', '').slice(0, 26)}`;
}

async function specWithCode(name: string, seed: string): Promise<FunctionSpec> {
  const code = sampleCodeRef(seed);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: code.s3Key, Body: sampleZip(seed) }));
  return functionSpec(name, { code });
}

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

function request(action: ConductorRequest['action'], ws: string, dep: string): ConductorRequest {
  return { action, workspace: ws, deploymentId: dep, targetEpoch: 1 };
}

async function untilDone(run: () => Promise<ConductorResponse>, maxCalls = 20): Promise<ConductorResponse> {
  for (let calls = 1; calls <= maxCalls; calls++) {
    const last = await run();
    if (last.done) return last;
  }
  throw new Error(`not done after ${maxCalls} calls`);
}

/** Prepares `changes` of `ws` until done, with `instance`; returns the last answer. */
async function prepare(
  ws: string,
  changes: readonly Omit<ChangeItem, 'managedName'>[],
  instance: LambdaConductor = conductor(),
): Promise<ConductorResponse> {
  const dep = deploymentId();
  await writeChanges(ws, dep, changes);
  return untilDone(() => instance.prepare(request('prepare', ws, dep)));
}

function configurationOf(ws: string, name: string) {
  return lambda.send(
    new GetFunctionConfigurationCommand({ FunctionName: managedFunctionName(prefix, ws, name) }),
  );
}

describe('LambdaConductor workspace roles', () => {
  it("creates a workspace's role once per call, under its path with the boundary and its log policy", async () => {
    // Prepare
    const ws = workspace();
    const specs = [await specWithCode('one', 'roles-one'), await specWithCode('two', 'roles-two')];
    iamCalls.length = 0;

    // Act
    const answer = await prepare(
      ws,
      specs.map((spec) => ({ name: spec.name, action: 'create', spec })),
    );

    // Assess
    expect(answer.vote).toBe('accept');
    expect(iamCalls).toEqual(['GetRole', 'CreateRole', 'PutRolePolicy']);
    const roleName = workspaceRoleName(prefix, ws);
    const { Role: role } = await iam.send(new GetRoleCommand({ RoleName: roleName }));
    expect(role).toMatchObject({
      Path: workspaceRolePath(prefix),
      Arn: `arn:aws:iam::${localAccountId}:role${workspaceRolePath(prefix)}${roleName}`,
      PermissionsBoundary: { PermissionsBoundaryType: 'Policy', PermissionsBoundaryArn: boundaryArn },
    });
    expect(JSON.parse(decodeURIComponent(role?.AssumeRolePolicyDocument ?? ''))).toEqual(
      workspaceRoleTrustPolicy,
    );
    const policy = await iam.send(
      new GetRolePolicyCommand({ RoleName: roleName, PolicyName: workspaceRolePolicyName }),
    );
    expect(JSON.parse(decodeURIComponent(policy.PolicyDocument ?? ''))).toEqual(
      workspaceRolePolicy({ partition: 'aws', region: localRegion, account: localAccountId }, prefix, ws),
    );
    for (const spec of specs) {
      expect(await configurationOf(ws, spec.name)).toMatchObject({
        Role: role?.Arn,
        LoggingConfig: { LogGroup: workspaceLogGroupName(prefix, ws), LogFormat: 'Text' },
      });
    }
  });

  it('gives a second workspace a role of its own, and finds the first one again on its next deployment', async () => {
    // Prepare
    const first = workspace();
    const second = workspace();
    await prepare(first, [{ name: 'api', action: 'create', spec: await specWithCode('api', 'roles-a1') }]);
    iamCalls.length = 0;

    // Act
    await prepare(second, [{ name: 'api', action: 'create', spec: await specWithCode('api', 'roles-b1') }]);
    const secondCalls = [...iamCalls];
    iamCalls.length = 0;
    await prepare(first, [{ name: 'web', action: 'create', spec: await specWithCode('web', 'roles-a2') }]);

    // Assess
    expect(secondCalls).toEqual(['GetRole', 'CreateRole', 'PutRolePolicy']);
    expect(iamCalls).toEqual(['GetRole', 'PutRolePolicy']);
    const firstRole = (await configurationOf(first, 'api')).Role;
    const secondRole = (await configurationOf(second, 'api')).Role;
    expect(firstRole).toMatch(new RegExp(`/${workspaceRoleName(prefix, first)}$`));
    expect(secondRole).toMatch(new RegExp(`/${workspaceRoleName(prefix, second)}$`));
    expect((await configurationOf(first, 'web')).Role).toBe(firstRole);
    expect((await configurationOf(second, 'api')).LoggingConfig?.LogGroup).toBe(
      workspaceLogGroupName(prefix, second),
    );
    const listed = await iam.send(new ListRolesCommand({ PathPrefix: workspaceRolePath(prefix) }));
    expect(listed.Roles?.map((r) => r.Arn)).toEqual(expect.arrayContaining([firstRole, secondRole]));
  });

  it('moves a function created under the shared role onto its workspace role and log group', async () => {
    // Prepare
    const ws = workspace();
    const spec = await specWithCode('old', 'roles-old');
    await prepare(ws, [{ name: 'old', action: 'create', spec }], conductor({ workspaceRoles: undefined }));
    expect(await configurationOf(ws, 'old')).toMatchObject({
      Role: sharedRoleArn,
      LoggingConfig: { LogGroup: `/aws/lambda/${managedFunctionName(prefix, ws, 'old')}` },
    });

    // Act
    const answer = await prepare(ws, [{ name: 'old', action: 'update', spec, previousVersion: '1' }]);

    // Assess
    expect(answer.vote).toBe('accept');
    expect(await configurationOf(ws, 'old')).toMatchObject({
      Role: expect.stringMatching(new RegExp(`/${workspaceRoleName(prefix, ws)}$`)),
      LoggingConfig: { LogGroup: workspaceLogGroupName(prefix, ws), LogFormat: 'Text' },
    });
  });

  it('leaves a change pending while Lambda cannot assume the new role yet, and stages it in a later call', async () => {
    // Prepare
    const ws = workspace();
    const spec = await specWithCode('late', 'roles-late');
    let refusals = 1;
    const refusing = createConductorLambdaClient({
      requestsPerSecond: 0,
      getFunctionRequestsPerSecond: 0,
      baseDelayMs: 20,
      maxDelayMs: 500,
      clientConfig: { endpoint: lambdaEmulator.endpoint, region: localRegion, credentials: localCredentials },
    });
    refusing.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === CreateFunctionCommand.name && refusals > 0) {
          refusals -= 1;
          const error = new Error('The role defined for the function cannot be assumed by Lambda.');
          error.name = 'InvalidParameterValueException';
          Object.assign(error, { $metadata: { httpStatusCode: 400 } });
          throw error;
        }
        return next(args);
      },
      { step: 'initialize', name: 'roleNotAssumableYet' },
    );
    const dep = deploymentId();
    await writeChanges(ws, dep, [{ name: 'late', action: 'create', spec }]);
    const instance = conductor({ lambda: refusing });

    // Act
    const first = await instance.prepare(request('prepare', ws, dep));
    const last = await untilDone(() => instance.prepare(request('prepare', ws, dep)));
    refusing.destroy();

    // Assess
    expect(first).toMatchObject({ done: false, counts: { done: 0, remaining: 1 } });
    expect(last).toMatchObject({ done: true, vote: 'accept' });
    expect((await configurationOf(ws, 'late')).Role).toMatch(
      new RegExp(`/${workspaceRoleName(prefix, ws)}$`),
    );
  });
});
