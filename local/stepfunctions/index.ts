/**
 * The local Step Functions API emulator: the awsJson1_0 protocol (`POST /`,
 * `X-Amz-Target: AWSStepFunctions.<Operation>`) that `@aws-sdk/client-sfn` and the AWS CLI
 * speak, over in-memory state machines whose executions run with `aws-local-stepfunctions`.
 * Task states reach the local Lambda, DynamoDB and EventBridge through their endpoints.
 *
 * @example
 * ```ts
 * const sfn = await startStepFunctionsEmulator({ lambdaEndpoint: lambda.endpoint });
 * const client = new SFNClient({ endpoint: sfn.endpoint, region: localRegion, credentials: localCredentials });
 * // ... CreateStateMachine, StartExecution, DescribeExecution, GetExecutionHistory
 * await sfn.close();
 * ```
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { BodyTooLargeError, closeServer, listen, readBody, sendJson } from '../http.ts';
import { localAccountId, localCredentials, localRegion } from '../net.ts';
import { StepFunctionsApiError } from './errors.ts';
import type { IntegrationClients } from './integrations.ts';
import { StepFunctionsService } from './service.ts';

export { StepFunctionsApiError, type StepFunctionsErrorName } from './errors.ts';
export { maxHistoryEvents } from './history.ts';

/** Options of {@link startStepFunctionsEmulator}. */
export interface StepFunctionsEmulatorOptions {
  /** TCP port on 127.0.0.1. @default 0 (the OS picks a free one) */
  readonly port?: number;
  /**
   * The local Lambda emulator, for `arn:aws:states:::lambda:invoke` and Lambda function ARN tasks.
   * @default - no Lambda: such tasks fail with `States.Runtime` naming this option
   */
  readonly lambdaEndpoint?: string;
  /**
   * DynamoDB Local, for `arn:aws:states:::dynamodb:putItem|getItem|updateItem|deleteItem` tasks.
   * @default - no DynamoDB: such tasks fail with `States.Runtime` naming this option
   */
  readonly dynamodbEndpoint?: string;
  /**
   * The local EventBridge, for `arn:aws:states:::events:putEvents` tasks.
   * @default - no EventBridge: such tasks fail with `States.Runtime` naming this option
   */
  readonly eventBridgeEndpoint?: string;
  /** Region in ARNs and the region the SDK clients sign for. @default localRegion ('us-east-1') */
  readonly region?: string;
  /** 12-digit account id in ARNs. @default localAccountId ('000000000000') */
  readonly accountId?: string;
}

/** A started emulator. */
export interface RunningStepFunctionsEmulator {
  /** `http://127.0.0.1:<port>`, for `new SFNClient({ endpoint })` or `aws --endpoint-url`. */
  readonly endpoint: string;
  /** Aborts running executions, closes the SDK clients and the server. */
  close(): Promise<void>;
}

/** Largest request body, in bytes (Step Functions quota "maximum request size", 1 MB, hard). */
const maxRequestBytes = 1_048_576;
const targetPrefix = 'AWSStepFunctions.';
const contentType = 'application/x-amz-json-1.0';

function sendError(res: ServerResponse, error: StepFunctionsApiError, requestId: string): void {
  sendJson(res, error.statusCode, error.toJSON(), { 'x-amzn-requestid': requestId }, contentType);
}

async function handleRequest(
  service: StepFunctionsService,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const requestId = randomUUID();
  try {
    const target = req.headers['x-amz-target'];
    if (req.method !== 'POST' || typeof target !== 'string' || !target.startsWith(targetPrefix)) {
      throw new StepFunctionsApiError(
        'UnknownOperationException',
        `expected POST / with header X-Amz-Target: ${targetPrefix}<Operation> (awsJson1_0)`,
      );
    }
    let raw: Buffer;
    try {
      raw = await readBody(req, maxRequestBytes);
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        throw new StepFunctionsApiError(
          'ValidationException',
          `the request is larger than ${maxRequestBytes} bytes`,
        );
      }
      throw error;
    }
    let body: unknown = {};
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch (error) {
        throw new StepFunctionsApiError(
          'SerializationException',
          `the request body is not JSON: ${(error as Error).message}`,
        );
      }
    }
    const result = service.handle(target.slice(targetPrefix.length), body);
    sendJson(res, 200, result, { 'x-amzn-requestid': requestId }, contentType);
  } catch (error) {
    if (error instanceof StepFunctionsApiError) {
      sendError(res, error, requestId);
    } else {
      // Nothing internal leaks: the message says where to look, not what broke.
      sendError(
        res,
        new StepFunctionsApiError(
          'InternalFailure',
          'the local Step Functions emulator failed on this request',
          {
            cause: error,
          },
        ),
        requestId,
      );
    }
  }
}

/**
 * Starts the local Step Functions API on 127.0.0.1.
 *
 * @example
 * ```ts
 * const sfn = await startStepFunctionsEmulator({ dynamodbEndpoint, lambdaEndpoint });
 * ```
 */
export async function startStepFunctionsEmulator(
  options: StepFunctionsEmulatorOptions = {},
): Promise<RunningStepFunctionsEmulator> {
  const region = options.region ?? localRegion;
  // Service calls are made once: a throttle or 5xx reaches the state's Retry, as on AWS.
  const clientConfig = { region, credentials: localCredentials, maxAttempts: 1 };
  const clients: IntegrationClients = {
    ...(options.lambdaEndpoint === undefined
      ? {}
      : { lambda: new LambdaClient({ ...clientConfig, endpoint: options.lambdaEndpoint }) }),
    ...(options.dynamodbEndpoint === undefined
      ? {}
      : { dynamodb: new DynamoDBClient({ ...clientConfig, endpoint: options.dynamodbEndpoint }) }),
    ...(options.eventBridgeEndpoint === undefined
      ? {}
      : { eventBridge: new EventBridgeClient({ ...clientConfig, endpoint: options.eventBridgeEndpoint }) }),
  };
  const service = new StepFunctionsService({
    region,
    accountId: options.accountId ?? localAccountId,
    clients,
  });
  const server = createServer((req, res) => {
    void handleRequest(service, req, res);
  });
  let endpoint: string;
  try {
    endpoint = await listen(server, options.port ?? 0);
  } catch (error) {
    for (const client of Object.values(clients)) client.destroy();
    throw error;
  }
  return {
    endpoint,
    async close() {
      await service.close();
      for (const client of Object.values(clients)) client.destroy();
      await closeServer(server);
    },
  };
}
