import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetAliasCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { changeSk, deploymentPk } from '../../core/deployments/keys.ts';
import type { ChangeItem, ConductorResponse } from '../../core/deployments/types.ts';
import { createConfigTable, deleteConfigTable } from '../../core/store/table.ts';
import { EnvNames } from '../../domain/env.ts';
import { managedFunctionName } from '../../domain/names.ts';
import { type RunningLambdaEmulator, startLambdaEmulator } from '../../local/lambda/index.ts';
import { localAccountId, localCredentials, localRegion } from '../../local/net.ts';
import { type S3Emulator, startS3Emulator } from '../../local/s3/index.ts';
import { sampleZip } from '../../support/fixtures.ts';
import { functionSpec, sampleCodeRef } from '../support/fixtures.ts';

const bucket = 'handler-artifacts';
const tableName = `greco-conductor-handler-${crypto.randomUUID().slice(0, 8)}`;
const dynamo = new DynamoDBClient({
  endpoint: inject('dynamodbEndpoint'),
  region: localRegion,
  credentials: localCredentials,
});
const ddb = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });

let s3Emulator: S3Emulator;
let emulator: RunningLambdaEmulator;
let handler: (event: unknown, context: Context) => Promise<ConductorResponse>;

/** A Lambda context whose only used member is the remaining time. */
const context = { getRemainingTimeInMillis: () => 80_000 } as Context;

beforeAll(async () => {
  await createConfigTable(dynamo, tableName);
  s3Emulator = await startS3Emulator();
  emulator = await startLambdaEmulator({
    s3Endpoint: s3Emulator.endpoint,
    transitionMs: 0,
    logSink: () => {},
  });
  const s3 = new S3Client({
    endpoint: s3Emulator.endpoint,
    region: localRegion,
    credentials: localCredentials,
    forcePathStyle: true,
  });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: sampleCodeRef('handler').s3Key, Body: sampleZip('handler') }),
  );
  s3.destroy();
  // What the CDK sets on the conductor function; the local cloud adds the endpoints.
  Object.assign(process.env, {
    [EnvNames.configTable]: tableName,
    [EnvNames.artifactsBucket]: bucket,
    [EnvNames.dataPlaneRoleArn]: `arn:aws:iam::${localAccountId}:role/greco-data-plane`,
    [EnvNames.managedPrefix]: 'greco',
    [EnvNames.conductorRateLimit]: '10',
    AWS_ENDPOINT_URL_DYNAMODB: inject('dynamodbEndpoint'),
    AWS_ENDPOINT_URL_LAMBDA: emulator.endpoint,
    AWS_REGION: localRegion,
    AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
  });
  ({ handler } = await import('../../lambdas/lambda-conductor/index.ts'));
});

afterAll(async () => {
  await emulator.close();
  await s3Emulator.close();
  await deleteConfigTable(dynamo, tableName);
  dynamo.destroy();
});

describe('lambda-conductor handler', () => {
  it('prepares and commits a deployment from the state machine request', async () => {
    const ws = 'handler';
    const dep = 'dep-handler0000000000000000001';
    const spec = functionSpec('hello', { code: sampleCodeRef('handler') });
    const change: ChangeItem = {
      name: 'hello',
      action: 'create',
      managedName: managedFunctionName('greco', ws, 'hello'),
      spec,
    };
    await ddb.send(
      new PutCommand({
        TableName: tableName,
        Item: { pk: deploymentPk(ws, dep), sk: changeSk('hello'), ...change },
      }),
    );
    const request = { workspace: ws, deploymentId: dep, targetEpoch: 1 };

    const prepared = await handler({ action: 'prepare', ...request }, context);
    const committed = await handler({ action: 'commit', ...request }, context);

    expect(prepared).toEqual({ done: true, vote: 'accept', reasons: [], counts: { done: 1, remaining: 0 } });
    expect(committed).toEqual({ done: true, counts: { done: 1, remaining: 0 } });
    const lambda = new LambdaClient({
      endpoint: emulator.endpoint,
      region: localRegion,
      credentials: localCredentials,
    });
    const alias = await lambda.send(new GetAliasCommand({ FunctionName: change.managedName, Name: 'live' }));
    lambda.destroy();
    expect(alias.FunctionVersion).toBe('1');
  });

  it('refuses a malformed request and changes nothing', async () => {
    await expect(
      handler({ action: 'prepare', workspace: 'handler', deploymentId: 'x#y', targetEpoch: 1 }, context),
    ).rejects.toMatchObject({ name: 'InvalidConductorRequestError' });
  });
});
