// biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub and Step Functions substitutions use ${...} in plain strings
/**
 * Deploys a small CDK app, synthesized here, that uses every resource type the local cloud
 * runs (table with TTL and GSI, versioned bucket, function from an asset folder, function URL,
 * HTTP API with a JWT authorizer, state machine from a file asset with substitutions, event bus
 * and rule, cross-stack export), and checks each one through the real AWS SDK v3 clients.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  GetItemCommand,
} from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetFunctionCommand, InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { App, CfnOutput, Duration, Fn, Stack } from 'aws-cdk-lib';
import { HttpApi, HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { AttributeType, BillingMode, Table } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus, Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction as LambdaTarget } from 'aws-cdk-lib/aws-events-targets';
import { Code, FunctionUrlAuthType, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { DefinitionBody, StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { descendantProcesses, type LocalCloud, startLocalCloud } from '../../local/cloud.ts';
import { localCredentials, localRegion, waitFor } from '../../local/net.ts';
import { type LocalIssuer, startLocalIssuer } from '../../local/oidc.ts';

const handlerSource = `
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
const dynamodb = new DynamoDBClient({});
export const handler = async (event) => {
  if (event.source === 'test.local') {
    await dynamodb.send(new PutItemCommand({ TableName: process.env.TABLE, Item: { pk: { S: 'event#' + event.detail.id } } }));
    return {};
  }
  if (event.requestContext?.http) {
    return { statusCode: 200, body: JSON.stringify({ path: event.rawPath, workspace: event.requestContext.authorizer?.jwt?.claims?.['custom:workspace'] ?? null }) };
  }
  return { table: process.env.TABLE, bucket: process.env.BUCKET, dynamodbEndpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB, input: event };
};
`;

const definition = JSON.stringify({
  StartAt: 'Call',
  States: {
    Call: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke',
      Parameters: { FunctionName: '${EchoArn}', 'Payload.$': '$' },
      ResultSelector: { 'echo.$': '$.Payload', marker: '${Marker}' },
      End: true,
    },
  },
});

let dir: string;
let cloud: LocalCloud;
let testIssuer: LocalIssuer;
const clientConfig = { region: localRegion, credentials: localCredentials };

beforeAll(async () => {
  // The app is synthesized before the local cloud (and its issuer) exists: the API trusts an
  // issuer of the test's own, as it would trust any OIDC issuer.
  testIssuer = await startLocalIssuer({ audience: 'greco' });
  dir = await mkdtemp(join(tmpdir(), 'greco-local-resources-'));
  const code = join(dir, 'code');
  await mkdir(code);
  await writeFile(join(code, 'index.mjs'), handlerSource);
  await writeFile(join(dir, 'flow.asl.json'), definition);

  const app = new App({ outdir: join(dir, 'cdk.out'), context: { 'aws:cdk:enable-asset-metadata': true } });
  const stack = new Stack(app, 'Resources');
  const table = new Table(stack, 'Table', {
    partitionKey: { name: 'pk', type: AttributeType.STRING },
    billingMode: BillingMode.PAY_PER_REQUEST,
    timeToLiveAttribute: 'expiresAt',
  });
  table.addGlobalSecondaryIndex({
    indexName: 'byKind',
    partitionKey: { name: 'kind', type: AttributeType.STRING },
  });
  const bucket = new Bucket(stack, 'Bucket', { versioned: true });
  const echo = new LambdaFunction(stack, 'Echo', {
    runtime: Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: Code.fromAsset(code),
    timeout: Duration.seconds(10),
    environment: { TABLE: table.tableName, BUCKET: bucket.bucketName },
  });
  table.grantReadWriteData(echo);
  const url = echo.addFunctionUrl({ authType: FunctionUrlAuthType.NONE });
  const api = new HttpApi(stack, 'Api', {
    defaultAuthorizer: new HttpJwtAuthorizer('Jwt', testIssuer.issuer, { jwtAudience: ['greco'] }),
  });
  api.addRoutes({
    path: '/hello',
    methods: [HttpMethod.GET],
    integration: new HttpLambdaIntegration('Echo', echo),
  });
  const flow = new StateMachine(stack, 'Flow', {
    definitionBody: DefinitionBody.fromFile(join(dir, 'flow.asl.json')),
    definitionSubstitutions: { EchoArn: echo.functionArn, Marker: Fn.join('-', ['from', stack.region]) },
  });
  echo.grantInvoke(flow);
  const bus = new EventBus(stack, 'Bus', { eventBusName: 'greco-test' });
  new Rule(stack, 'OnTest', {
    eventBus: bus,
    eventPattern: { source: ['test.local'] },
    targets: [new LambdaTarget(echo)],
  });
  new CfnOutput(stack, 'ApiUrl', { value: api.url ?? '' });
  new CfnOutput(stack, 'FunctionUrl', { value: url.url });
  new CfnOutput(stack, 'TableName', { value: table.tableName, exportName: 'TestTableName' });
  new CfnOutput(stack, 'FlowArn', { value: flow.stateMachineArn });
  const consumer = new Stack(app, 'Consumer');
  new CfnOutput(consumer, 'Imported', { value: Fn.importValue('TestTableName') });
  consumer.addDependency(stack);
  app.synth();

  cloud = await startLocalCloud({
    ports: 'ephemeral',
    workDir: join(dir, 'work'),
    assemblyDir: join(dir, 'cdk.out'),
  });
});

afterAll(async () => {
  await cloud?.close();
  await testIssuer?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the local cloud deploys a synthesized app', () => {
  it('creates the table with its key schema, GSI and TTL', async () => {
    const client = new DynamoDBClient({ ...clientConfig, endpoint: cloud.endpoints.dynamodb });
    const name = cloud.stacks.Resources?.outputs.TableName as string;
    expect(name).toMatch(/^Resources-Table[A-F0-9]{8}-[A-Z0-9]{12}$/);
    const { Table: described } = await client.send(new DescribeTableCommand({ TableName: name }));
    expect(described?.KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }]);
    expect(described?.GlobalSecondaryIndexes?.map((index) => index.IndexName)).toEqual(['byKind']);
    const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: name }));
    expect(ttl.TimeToLiveDescription?.AttributeName).toBe('expiresAt');
    client.destroy();
  });

  it('creates the bucket with versioning enabled', async () => {
    const client = new S3Client({ ...clientConfig, endpoint: cloud.endpoints.s3, forcePathStyle: true });
    const bucketId = Object.entries(cloud.stacks.Resources?.resources ?? {}).find(
      ([, r]) => r.type === 'AWS::S3::Bucket',
    );
    const name = bucketId?.[1].physicalId as string;
    expect(name).toMatch(/^resources-bucket[a-f0-9]{8}-[a-z0-9]{12}$/);
    expect((await client.send(new GetBucketVersioningCommand({ Bucket: name }))).Status).toBe('Enabled');
    client.destroy();
  });

  it('creates the function from its asset with the environment resolved and the local endpoints added', async () => {
    const client = new LambdaClient({ ...clientConfig, endpoint: cloud.endpoints.lambda });
    const [, echo] = Object.entries(cloud.stacks.Resources?.resources ?? {}).find(
      ([, r]) => r.type === 'AWS::Lambda::Function',
    ) as [string, { physicalId: string }];
    const fn = await client.send(new GetFunctionCommand({ FunctionName: echo.physicalId }));
    expect(fn.Configuration?.Timeout).toBe(10);
    expect(fn.Configuration?.Environment?.Variables?.TABLE).toBe(cloud.stacks.Resources?.outputs.TableName);
    const invoked = await client.send(
      new InvokeCommand({ FunctionName: echo.physicalId, Payload: Buffer.from(JSON.stringify({ hi: 1 })) }),
    );
    const payload = JSON.parse(Buffer.from(invoked.Payload ?? []).toString());
    expect(payload).toEqual({
      table: cloud.stacks.Resources?.outputs.TableName,
      bucket: expect.stringMatching(/^resources-bucket/),
      dynamodbEndpoint: cloud.endpoints.dynamodb,
      input: { hi: 1 },
    });
    client.destroy();
  });

  it('serves the function URL', async () => {
    const functionUrl = cloud.stacks.Resources?.outputs.FunctionUrl as string;
    expect(functionUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const response = await fetch(`${functionUrl}some/path`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ path: '/some/path', workspace: null });
  });

  it('serves the HTTP API behind its JWT authorizer, with the API URL output rewritten to the local endpoint', async () => {
    const apiUrl = cloud.stacks.Resources?.outputs.ApiUrl as string;
    expect(apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect((await fetch(`${apiUrl}hello`)).status).toBe(401);
    const token = await testIssuer.mintToken({ workspace: 'w1', roles: ['viewer'] });
    const response = await fetch(`${apiUrl}hello`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ path: '/hello', workspace: 'w1' });
  });

  it('runs the state machine from its file asset with the substitutions applied', async () => {
    const client = new SFNClient({ ...clientConfig, endpoint: cloud.endpoints.stepfunctions });
    const { executionArn } = await client.send(
      new StartExecutionCommand({
        stateMachineArn: cloud.stacks.Resources?.outputs.FlowArn as string,
        input: '{"n":7}',
      }),
    );
    const done = await waitFor(
      async () => {
        const described = await client.send(new DescribeExecutionCommand({ executionArn }));
        if (described.status === 'FAILED')
          throw new Error(`execution failed: ${described.error} ${described.cause}`);
        return described.status === 'SUCCEEDED' ? described : undefined;
      },
      { timeoutMs: 30_000, what: 'the execution to succeed' },
    );
    expect(JSON.parse(done.output ?? '{}')).toMatchObject({
      marker: `from-${localRegion}`,
      echo: { input: { n: 7 } },
    });
    client.destroy();
  });

  it('delivers events on the bus to the rule target', async () => {
    const eventbridge = new EventBridgeClient({ ...clientConfig, endpoint: cloud.endpoints.eventbridge });
    const dynamodb = new DynamoDBClient({ ...clientConfig, endpoint: cloud.endpoints.dynamodb });
    const id = `e${Date.now()}`;
    const put = await eventbridge.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: 'greco-test',
            Source: 'test.local',
            DetailType: 'Test',
            Detail: JSON.stringify({ id }),
          },
        ],
      }),
    );
    expect(put.FailedEntryCount).toBe(0);
    const item = await waitFor(
      async () =>
        (
          await dynamodb.send(
            new GetItemCommand({
              TableName: cloud.stacks.Resources?.outputs.TableName as string,
              Key: { pk: { S: `event#${id}` } },
            }),
          )
        ).Item,
      { timeoutMs: 20_000, what: 'the rule target to write the event' },
    );
    expect(item.pk?.S).toBe(`event#${id}`);
    eventbridge.destroy();
    dynamodb.destroy();
  });

  it('resolves Fn::ImportValue of a later stack from the exports of an earlier one', () => {
    expect(cloud.stacks.Consumer?.outputs.Imported).toBe(cloud.stacks.Resources?.outputs.TableName);
  });

  it('leaves no child process behind once closed', async () => {
    const before = await descendantProcesses();
    expect(before.length).toBeGreaterThan(0); // at least the DynamoDB Local JVM
    await cloud.close();
    await waitFor(
      async () => {
        const alive = (await descendantProcesses()).filter((pid) => before.includes(pid));
        return alive.length === 0;
      },
      { timeoutMs: 15_000, what: 'every child process to exit' },
    );
  });
});
