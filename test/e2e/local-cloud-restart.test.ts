/**
 * Restarting the local cloud: a second start on the same port block works at once after the
 * first one closed, and with `persist` it finds its tables and buckets (and their data) again.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { App, CfnOutput, Stack } from 'aws-cdk-lib';
import { AttributeType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  findFreePortBlock,
  type LocalCloud,
  PortInUseError,
  portOffsets,
  startLocalCloud,
} from '../../local/cloud.ts';
import { localCredentials, localRegion } from '../../local/net.ts';

let dir: string;
let assemblyDir: string;
const open: LocalCloud[] = [];
const clientConfig = { region: localRegion, credentials: localCredentials };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'greco-local-restart-'));
  await mkdir(join(dir, 'code'));
  await writeFile(join(dir, 'code', 'index.mjs'), 'export const handler = async () => ({});');
  assemblyDir = join(dir, 'cdk.out');
  const app = new App({ outdir: assemblyDir, context: { 'aws:cdk:enable-asset-metadata': true } });
  const stack = new Stack(app, 'Kept');
  const table = new Table(stack, 'Table', { partitionKey: { name: 'pk', type: AttributeType.STRING } });
  const bucket = new Bucket(stack, 'Bucket');
  new LambdaFunction(stack, 'Fn', {
    runtime: Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: Code.fromAsset(join(dir, 'code')),
  });
  new CfnOutput(stack, 'TableName', { value: table.tableName });
  new CfnOutput(stack, 'BucketName', { value: bucket.bucketName });
  app.synth();
});

afterAll(async () => {
  await Promise.all(open.map((cloud) => cloud.close()));
  await rm(dir, { recursive: true, force: true });
});

async function start(ports: number, workDir: string): Promise<LocalCloud> {
  const cloud = await startLocalCloud({ ports, workDir, assemblyDir, persist: true });
  open.push(cloud);
  return cloud;
}

describe('restarting the local cloud', () => {
  it('starts again on the same ports at once, with the persisted tables, buckets and data', async () => {
    // Prepare: a first start, with some data.
    const base = await findFreePortBlock();
    const workDir = join(dir, 'work');
    const first = await start(base, workDir);
    expect(first.endpoints.dynamodb).toBe(`http://127.0.0.1:${base + portOffsets.dynamodb}`);
    const tableName = first.stacks.Kept?.outputs.TableName as string;
    const bucketName = first.stacks.Kept?.outputs.BucketName as string;
    const dynamodb1 = new DynamoDBClient({ ...clientConfig, endpoint: first.endpoints.dynamodb });
    const s31 = new S3Client({ ...clientConfig, endpoint: first.endpoints.s3, forcePathStyle: true });
    await dynamodb1.send(
      new PutItemCommand({ TableName: tableName, Item: { pk: { S: 'kept' }, n: { N: '1' } } }),
    );
    await s31.send(new PutObjectCommand({ Bucket: bucketName, Key: 'kept.txt', Body: 'still here' }));
    dynamodb1.destroy();
    s31.destroy();
    await first.close();

    // Act: the same ports and work folder again, right away.
    const second = await start(base, workDir);

    // Assess
    expect(second.stacks.Kept?.outputs).toEqual(first.stacks.Kept?.outputs);
    const dynamodb2 = new DynamoDBClient({ ...clientConfig, endpoint: second.endpoints.dynamodb });
    const s32 = new S3Client({ ...clientConfig, endpoint: second.endpoints.s3, forcePathStyle: true });
    const item = await dynamodb2.send(
      new GetItemCommand({ TableName: tableName, Key: { pk: { S: 'kept' } } }),
    );
    expect(item.Item?.n?.N).toBe('1');
    const object = await s32.send(new GetObjectCommand({ Bucket: bucketName, Key: 'kept.txt' }));
    expect(await object.Body?.transformToString()).toBe('still here');
    dynamodb2.destroy();
    s32.destroy();

    // A third start on the same block while the second runs is refused, naming the port.
    await expect(startLocalCloud({ ports: base, workDir: join(dir, 'other'), assemblyDir })).rejects.toThrow(
      PortInUseError,
    );
    await second.close();
  });
});
