import {
  CreateFunctionCommand,
  GetFunctionCommand,
  InvokeCommand,
  LambdaClient,
  UpdateFunctionCodeCommand,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2,
} from '@aws-sdk/client-lambda';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { strToU8, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningLambdaEmulator, startLambdaEmulator } from '../../local/lambda/index.ts';
import { localAccountId, localCredentials, localRegion } from '../../local/net.ts';
import { type S3Emulator, startS3Emulator } from '../../local/s3/index.ts';

const role = `arn:aws:iam::${localAccountId}:role/greco-test`;
const bucket = 'code-bucket';
const waiter = { maxWaitTime: 20, minDelay: 0.1, maxDelay: 0.2 };

function zipOf(answer: string): Uint8Array {
  return zipSync(
    { 'index.mjs': strToU8(`export const handler = async () => ${JSON.stringify(answer)};\n`) },
    { mtime: new Date('2026-01-01T00:00:00Z') },
  );
}

describe('Lambda emulator, code from S3', () => {
  let s3Emulator: S3Emulator;
  let emulator: RunningLambdaEmulator;
  let withoutS3: RunningLambdaEmulator;
  let s3: S3Client;
  let lambda: LambdaClient;

  beforeAll(async () => {
    s3Emulator = await startS3Emulator();
    emulator = await startLambdaEmulator({
      s3Endpoint: s3Emulator.endpoint,
      controlPlaneRateLimit: 0,
      transitionMs: 20,
      logSink: () => {},
    });
    withoutS3 = await startLambdaEmulator({ controlPlaneRateLimit: 0, logSink: () => {} });
    s3 = new S3Client({
      endpoint: s3Emulator.endpoint,
      region: localRegion,
      credentials: localCredentials,
      forcePathStyle: true,
    });
    lambda = new LambdaClient({
      endpoint: emulator.endpoint,
      region: localRegion,
      credentials: localCredentials,
      maxAttempts: 1,
    });
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'code/v1.zip', Body: zipOf('from s3 v1') }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'code/v2.zip', Body: zipOf('from s3 v2') }));
  });
  afterAll(async () => {
    lambda.destroy();
    s3.destroy();
    await emulator.close();
    await withoutS3.close();
    await s3Emulator.close();
  });

  it('creates and updates a function from S3 objects, as Lambda reads them', async () => {
    const name = `s3-code-${process.pid}`;
    const created = await lambda.send(
      new CreateFunctionCommand({
        FunctionName: name,
        Runtime: 'nodejs24.x',
        Role: role,
        Handler: 'index.handler',
        Code: { S3Bucket: bucket, S3Key: 'code/v1.zip' },
      }),
    );
    expect(created.CodeSha256).toBe(Buffer.from(await sha256(zipOf('from s3 v1'))).toString('base64'));
    await waitUntilFunctionActiveV2({ client: lambda, ...waiter }, { FunctionName: name });
    const first = await lambda.send(new InvokeCommand({ FunctionName: name }));
    expect(new TextDecoder().decode(first.Payload)).toBe('"from s3 v1"');

    await lambda.send(
      new UpdateFunctionCodeCommand({ FunctionName: name, S3Bucket: bucket, S3Key: 'code/v2.zip' }),
    );
    await waitUntilFunctionUpdatedV2({ client: lambda, ...waiter }, { FunctionName: name });
    const second = await lambda.send(new InvokeCommand({ FunctionName: name }));
    expect(new TextDecoder().decode(second.Payload)).toBe('"from s3 v2"');
  });

  it('refuses a missing key with InvalidParameterValueException and creates nothing', async () => {
    const name = `s3-missing-${process.pid}`;
    const attempt = lambda.send(
      new CreateFunctionCommand({
        FunctionName: name,
        Runtime: 'nodejs24.x',
        Role: role,
        Handler: 'index.handler',
        Code: { S3Bucket: bucket, S3Key: 'code/none.zip' },
      }),
    );
    await expect(attempt).rejects.toMatchObject({
      name: 'InvalidParameterValueException',
      message: expect.stringContaining('S3 Error Code: NoSuchKey'),
    });
    await expect(lambda.send(new GetFunctionCommand({ FunctionName: name }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });

  it('refuses code from S3 when it has no S3 endpoint', async () => {
    const client = new LambdaClient({
      endpoint: withoutS3.endpoint,
      region: localRegion,
      credentials: localCredentials,
      maxAttempts: 1,
    });
    try {
      await expect(
        client.send(
          new CreateFunctionCommand({
            FunctionName: `s3-none-${process.pid}`,
            Runtime: 'nodejs24.x',
            Role: role,
            Handler: 'index.handler',
            Code: { S3Bucket: bucket, S3Key: 'code/v1.zip' },
          }),
        ),
      ).rejects.toMatchObject({ name: 'InvalidParameterValueException' });
    } finally {
      client.destroy();
    }
  });
});

async function sha256(bytes: Uint8Array): Promise<ArrayBuffer> {
  return crypto.subtle.digest('SHA-256', bytes);
}
