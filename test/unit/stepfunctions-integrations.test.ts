import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  DynamoDBServiceException,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  InvokeCommand,
  type InvokeCommandOutput,
  LambdaClient,
  LambdaServiceException,
  ServiceException,
  TooManyRequestsException,
} from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { Json } from '../../local/stepfunctions/definition.ts';
import {
  type IntegrationClients,
  maxPayloadBytes,
  runTaskResource,
  TaskFailure,
} from '../../local/stepfunctions/integrations.ts';
import { describeTaskResource } from '../../local/stepfunctions/resources.ts';

const metadata = { httpStatusCode: 429, requestId: 'req-1' };

/** A Lambda Invoke payload as the SDK hands it over: bytes that can also turn into a string. */
function payload(text: string): NonNullable<InvokeCommandOutput['Payload']> {
  return Object.assign(new Uint8Array(Buffer.from(text)), {
    transformToString: (encoding?: string) => Buffer.from(text).toString(encoding as BufferEncoding),
  });
}
const executionArn = 'arn:aws:states:us-east-1:000000000000:execution:deploy:d-1';
const stateMachineArn = 'arn:aws:states:us-east-1:000000000000:stateMachine:deploy';

const lambda = new LambdaClient({ region: 'us-east-1' });
const dynamodb = new DynamoDBClient({ region: 'us-east-1' });
const eventBridge = new EventBridgeClient({ region: 'us-east-1' });
const lambdaMock = mockClient(lambda);
const dynamodbMock = mockClient(dynamodb);
const eventBridgeMock = mockClient(eventBridge);
const clients: IntegrationClients = { lambda, dynamodb, eventBridge };

function invocation(resourceArn: string, input: Json) {
  return {
    resource: describeTaskResource(resourceArn),
    input,
    stateName: 'Work',
    executionArn,
    stateMachineArn,
    abortSignal: new AbortController().signal,
  };
}

async function failureOf(promise: Promise<unknown>): Promise<TaskFailure> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(TaskFailure);
  return error as TaskFailure;
}

const invoke = (input: Json = { FunctionName: 'conductor', Payload: { id: 'd-1' } }) =>
  runTaskResource(invocation('arn:aws:states:::lambda:invoke', input), clients);

beforeEach(() => {
  lambdaMock.reset();
  dynamodbMock.reset();
  eventBridgeMock.reset();
});

afterAll(() => {
  lambdaMock.restore();
  dynamodbMock.restore();
  eventBridgeMock.restore();
});

describe('lambda:invoke', () => {
  it('answers Payload, StatusCode and ExecutedVersion as AWS, sending the Payload as JSON', async () => {
    lambdaMock.on(InvokeCommand).resolves({
      StatusCode: 200,
      ExecutedVersion: '7',
      Payload: payload('{"vote":"accept"}'),
      $metadata: { httpStatusCode: 200, requestId: 'req-9' },
    });

    const result = await invoke();

    expect(result).toEqual({
      ExecutedVersion: '7',
      Payload: { vote: 'accept' },
      SdkHttpMetadata: { HttpStatusCode: 200 },
      SdkResponseMetadata: { RequestId: 'req-9' },
      StatusCode: 200,
    });
    const sent = lambdaMock.commandCalls(InvokeCommand)[0]?.args[0].input;
    expect(sent?.FunctionName).toBe('conductor');
    expect(Buffer.from(sent?.Payload as Uint8Array).toString()).toBe('{"id":"d-1"}');
  });

  it('keeps a payload that is not JSON as a string', async () => {
    lambdaMock.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload('plain'), $metadata: {} });
    expect(await invoke()).toMatchObject({ Payload: 'plain' });
  });

  it.each([
    {
      what: 'a modeled throttle',
      error: new TooManyRequestsException({ message: 'Rate Exceeded.', $metadata: metadata }),
      name: 'Lambda.TooManyRequestsException',
    },
    {
      what: 'a modeled 5xx',
      error: new ServiceException({ message: 'Internal', $metadata: { httpStatusCode: 500 } }),
      name: 'Lambda.ServiceException',
    },
    {
      what: 'an unmodeled service error',
      error: new LambdaServiceException({
        name: 'WeirdException',
        $fault: 'server',
        message: 'odd',
        $metadata: {},
      }),
      name: 'Lambda.AWSLambdaException',
    },
    {
      what: 'no answer at all',
      error: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
      name: 'Lambda.SdkClientException',
    },
  ])('names $what $name, retryable', async ({ error, name }) => {
    lambdaMock.on(InvokeCommand).rejects(error);
    const failure = await failureOf(invoke());
    expect(failure.name).toBe(name);
    expect(failure.isRetryable).toBe(true);
    expect(failure.isCatchable).toBe(true);
  });

  it('quotes the service, status and request id in the Cause, as Step Functions does', async () => {
    lambdaMock
      .on(InvokeCommand)
      .rejects(new TooManyRequestsException({ message: 'Rate Exceeded.', $metadata: metadata }));
    const failure = await failureOf(invoke());
    expect(failure.message).toBe(
      'Rate Exceeded. (Service: AWSLambda; Status Code: 429; Error Code: TooManyRequestsException; Request ID: req-1; Proxy: null)',
    );
  });

  it.each([
    {
      body: '{"errorType":"VetoError","errorMessage":"runtime nodejs12.x is deprecated"}',
      name: 'VetoError',
    },
    { body: '{"errorMessage":"Task timed out after 3.00 seconds"}', name: 'Lambda.Unknown' },
    { body: 'Segmentation fault', name: 'Lambda.Unknown' },
  ])('names a function error $name, with the payload as Cause', async ({ body, name }) => {
    lambdaMock.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: payload(body),
      $metadata: {},
    });
    const failure = await failureOf(invoke());
    expect(failure.name).toBe(name);
    expect(failure.message).toBe(body);
  });

  it('refuses parameters without a string FunctionName with a terminal States.Runtime', async () => {
    const failure = await failureOf(invoke({ FunctionName: 42 }));
    expect(failure.name).toBe('States.Runtime');
    expect(failure.isRetryable).toBe(false);
    expect(failure.isCatchable).toBe(false);
    expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(0);
  });

  it('fails a result larger than 256 KiB with a terminal States.DataLimitExceeded', async () => {
    lambdaMock.on(InvokeCommand).resolves({
      StatusCode: 200,
      Payload: payload(JSON.stringify('x'.repeat(maxPayloadBytes))),
      $metadata: {},
    });
    const failure = await failureOf(invoke());
    expect(failure.name).toBe('States.DataLimitExceeded');
    expect(failure.isCatchable).toBe(false);
  });
});

describe('plain Lambda function ARN', () => {
  it('invokes the ARN with the state input and returns the bare payload', async () => {
    lambdaMock.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload('[1,2]'), $metadata: {} });
    const arn = 'arn:aws:lambda:us-east-1:000000000000:function:conductor';
    const result = await runTaskResource(invocation(arn, { n: 1 }), clients);
    expect(result).toEqual([1, 2]);
    expect(lambdaMock.commandCalls(InvokeCommand)[0]?.args[0].input.FunctionName).toBe(arn);
  });
});

describe('dynamodb', () => {
  it('names a failed condition DynamoDB.ConditionalCheckFailedException', async () => {
    dynamodbMock.on(PutItemCommand).rejects(
      new ConditionalCheckFailedException({
        message: 'The conditional request failed',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    const failure = await failureOf(
      runTaskResource(
        invocation('arn:aws:states:::dynamodb:putItem', { TableName: 't', Item: { pk: { S: 'a' } } }),
        clients,
      ),
    );
    expect(failure.name).toBe('DynamoDB.ConditionalCheckFailedException');
    expect(failure.message).toContain('Service: AmazonDynamoDBv2; Status Code: 400');
  });

  it('names an unmodeled DynamoDB error DynamoDB.AmazonDynamoDBException', async () => {
    dynamodbMock.on(GetItemCommand).rejects(
      new DynamoDBServiceException({
        name: 'ValidationException',
        $fault: 'client',
        message: 'bad key',
        $metadata: {},
      }),
    );
    const failure = await failureOf(
      runTaskResource(invocation('arn:aws:states:::dynamodb:getItem', { TableName: 't', Key: {} }), clients),
    );
    expect(failure.name).toBe('DynamoDB.AmazonDynamoDBException');
  });

  it('turns base64 binaries into bytes for the SDK and bytes back into base64', async () => {
    dynamodbMock.on(GetItemCommand).resolves({
      Item: { pk: { S: 'a' }, blob: { B: Buffer.from('hello') }, list: { L: [{ B: Buffer.from('x') }] } },
      $metadata: { httpStatusCode: 200, requestId: 'req-2' },
    });
    const result = await runTaskResource(
      invocation('arn:aws:states:::dynamodb:getItem', {
        TableName: 't',
        Key: { pk: { B: Buffer.from('key').toString('base64') } },
      }),
      clients,
    );
    const sentKey = dynamodbMock.commandCalls(GetItemCommand)[0]?.args[0].input.Key;
    expect(Buffer.from(sentKey?.pk?.B as Uint8Array).toString()).toBe('key');
    expect(result).toEqual({
      Item: {
        pk: { S: 'a' },
        blob: { B: Buffer.from('hello').toString('base64') },
        list: { L: [{ B: Buffer.from('x').toString('base64') }] },
      },
      SdkHttpMetadata: { HttpStatusCode: 200 },
      SdkResponseMetadata: { RequestId: 'req-2' },
    });
  });
});

describe('events:putEvents', () => {
  it('fails with EventBridge.FailedEntry when an entry failed', async () => {
    eventBridgeMock.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'no' }],
      $metadata: {},
    });
    const failure = await failureOf(
      runTaskResource(
        invocation('arn:aws:states:::events:putEvents', {
          Entries: [{ Source: 's', DetailType: 'd', Detail: {} }],
        }),
        clients,
      ),
    );
    expect(failure.name).toBe('EventBridge.FailedEntry');
    expect(JSON.parse(failure.message)).toMatchObject({ FailedEntryCount: 1 });
  });

  it('serializes an object Detail and appends the execution and state machine ARNs to Resources', async () => {
    eventBridgeMock
      .on(PutEventsCommand)
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }], $metadata: {} });
    const result = await runTaskResource(
      invocation('arn:aws:states:::events:putEvents', {
        Entries: [{ Source: 'greco', DetailType: 'Epoch Activated', Detail: { epoch: 4 }, Resources: ['r'] }],
      }),
      clients,
    );
    expect(result).toEqual({ Entries: [{ EventId: 'e-1' }], FailedEntryCount: 0 });
    const entry = eventBridgeMock.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries?.[0];
    expect(entry?.Detail).toBe('{"epoch":4}');
    expect(entry?.Resources).toEqual(['r', executionArn, stateMachineArn]);
  });
});

describe('resources the emulator cannot reach', () => {
  it.each<{ arn: string; input: Json; option: string }>([
    { arn: 'arn:aws:states:::lambda:invoke', input: { FunctionName: 'f' }, option: 'lambdaEndpoint' },
    {
      arn: 'arn:aws:states:::dynamodb:putItem',
      input: { TableName: 't', Item: {} },
      option: 'dynamodbEndpoint',
    },
    { arn: 'arn:aws:states:::events:putEvents', input: { Entries: [] }, option: 'eventBridgeEndpoint' },
  ])(
    'fails $arn with States.Runtime naming $option when that service has no client',
    async ({ arn, input, option }) => {
      const failure = await failureOf(runTaskResource(invocation(arn, input), {}));
      expect(failure.name).toBe('States.Runtime');
      expect(failure.message).toContain(option);
      expect(failure.isCatchable).toBe(false);
    },
  );

  it('fails an unsupported resource with States.Runtime naming it', async () => {
    const failure = await failureOf(
      runTaskResource(invocation('arn:aws:states:::sqs:sendMessage', { QueueUrl: 'q' }), clients),
    );
    expect(failure.name).toBe('States.Runtime');
    expect(failure.message).toContain('arn:aws:states:::sqs:sendMessage');
  });
});
