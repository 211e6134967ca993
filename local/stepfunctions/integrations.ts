/**
 * The service integrations of Task states, run against the local services through the real AWS
 * SDK v3 clients: Lambda Invoke (optimized `lambda:invoke` and plain function ARNs), the DynamoDB
 * item APIs and EventBridge PutEvents. Results and error names are Step Functions' own, so that
 * `Retry` and `Catch` on names such as `Lambda.TooManyRequestsException` or
 * `DynamoDB.ConditionalCheckFailedException` behave as on AWS.
 *
 * @see https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html
 * @see https://docs.aws.amazon.com/step-functions/latest/dg/connect-ddb.html
 * @see https://docs.aws.amazon.com/step-functions/latest/dg/connect-eventbridge.html
 */
import {
  type AttributeValue,
  DeleteItemCommand,
  type DynamoDBClient,
  DynamoDBServiceException,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  type EventBridgeClient,
  EventBridgeServiceException,
  PutEventsCommand,
  type PutEventsCommandOutput,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import {
  InvokeCommand,
  type InvokeCommandOutput,
  type LambdaClient,
  LambdaServiceException,
} from '@aws-sdk/client-lambda';
import { isJsonObject, type Json, type JsonObject } from './definition.ts';
import type { DynamoDbOperation, TaskResource } from './resources.ts';

/**
 * Largest task result, in bytes of UTF-8 JSON (Step Functions quota "maximum input or output size
 * for a task, state, or execution", 256 KiB, hard). A larger result fails the state with
 * `States.DataLimitExceeded`.
 */
export const maxPayloadBytes = 262_144;

/** SDK clients for the local services that Task states reach; a Task whose service has none fails with `States.Runtime`. */
export interface IntegrationClients {
  readonly lambda?: LambdaClient;
  readonly dynamodb?: DynamoDBClient;
  readonly eventBridge?: EventBridgeClient;
}

/** One run of a Task state's resource. */
export interface TaskInvocation {
  readonly resource: TaskResource;
  /** The state's effective input: its input after `InputPath` and `Parameters`. */
  readonly input: Json;
  readonly stateName: string;
  readonly executionArn: string;
  readonly stateMachineArn: string;
  /** Aborts the service call when the execution stops. */
  readonly abortSignal: AbortSignal;
}

/**
 * A Task failure as Step Functions reports it.
 *
 * `name` is the States error name (`Lambda.ServiceException`, `States.Runtime`...), not the class
 * name: aws-local-stepfunctions matches `Retry` and `Catch` on `error.name`, and reads
 * `isRetryable` / `isCatchable`. `message` is the failure's `Cause`.
 */
export class TaskFailure extends Error {
  /** Whether a `Retry` may match it (false for `States.Runtime` and `States.DataLimitExceeded`, as AWS). */
  readonly isRetryable: boolean;
  /** Whether a `Catch` may match it. */
  readonly isCatchable: boolean;

  constructor(error: string, cause: string, options?: ErrorOptions & { terminal?: boolean }) {
    super(cause, options);
    this.name = error;
    this.isRetryable = options?.terminal !== true;
    this.isCatchable = options?.terminal !== true;
  }
}

/** Converts an SDK output to JSON: bytes become base64, `undefined` members and `$metadata` go. */
function toJson(value: unknown): Json {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(toJson);
  if (typeof value === 'object' && value !== null) {
    const out: JsonObject = {};
    for (const [key, member] of Object.entries(value)) {
      if (member !== undefined && key !== '$metadata') out[key] = toJson(member);
    }
    return out;
  }
  if (typeof value === 'bigint') return Number(value);
  return (value ?? null) as Json;
}

/** The Java SDK's service names, which Step Functions quotes in the `Cause` of a service error. */
const serviceLabels = {
  Lambda: 'AWSLambda',
  DynamoDB: 'AmazonDynamoDBv2',
  EventBridge: 'AmazonEventBridge',
} as const;
/** Error names Step Functions gives service errors that the service does not model. */
const genericServiceErrors = {
  Lambda: 'AWSLambdaException',
  DynamoDB: 'AmazonDynamoDBException',
  EventBridge: 'AmazonEventBridgeException',
} as const;
const serviceExceptionBases = {
  Lambda: LambdaServiceException,
  DynamoDB: DynamoDBServiceException,
  EventBridge: EventBridgeServiceException,
} as const;

/**
 * Names an SDK error as Step Functions does: `<Service>.<ExceptionName>` for a modeled service
 * exception, `<Service>.<generic>` for an unmodeled one, `<Service>.SdkClientException` when no
 * answer came (connection refused, reset...).
 */
export function serviceFailure(service: keyof typeof serviceLabels, error: unknown): TaskFailure {
  if (error instanceof TaskFailure) return error;
  const base = serviceExceptionBases[service];
  if (error instanceof base) {
    const modeled = Object.getPrototypeOf(error) !== base.prototype && error.name !== 'UnknownError';
    const code = modeled ? error.name : genericServiceErrors[service];
    const status = error.$metadata.httpStatusCode ?? 'unknown';
    const requestId = error.$metadata.requestId ?? 'unknown';
    return new TaskFailure(
      `${service}.${code}`,
      `${error.message} (Service: ${serviceLabels[service]}; Status Code: ${status}; Error Code: ${error.name}; Request ID: ${requestId}; Proxy: null)`,
      { cause: error },
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return new TaskFailure(`${service}.SdkClientException`, `Unable to execute HTTP request: ${message}`, {
    cause: error,
  });
}

function runtimeFailure(message: string): TaskFailure {
  return new TaskFailure('States.Runtime', message, { terminal: true });
}

function missingClient(invocation: TaskInvocation, service: string, option: string): TaskFailure {
  return runtimeFailure(
    `The local Step Functions emulator has no ${service} endpoint for task state '${invocation.stateName}' (resource ${invocation.resource.arn}): start it with the '${option}' option`,
  );
}

function parsePayload(output: InvokeCommandOutput): Json {
  const text = output.Payload === undefined ? '' : Buffer.from(output.Payload).toString('utf8');
  if (text === '') return '';
  try {
    return JSON.parse(text) as Json;
  } catch {
    return text;
  }
}

/** Invokes a function; a function error becomes a TaskFailure named by the payload's `errorType`. */
async function invokeFunction(
  client: LambdaClient,
  request: {
    FunctionName: string;
    Payload?: Json;
    InvocationType?: string;
    Qualifier?: string;
    ClientContext?: string;
    LogType?: string;
  },
  signal: AbortSignal,
): Promise<InvokeCommandOutput> {
  let output: InvokeCommandOutput;
  try {
    output = await client.send(
      new InvokeCommand({
        FunctionName: request.FunctionName,
        ...(request.Payload === undefined ? {} : { Payload: Buffer.from(JSON.stringify(request.Payload)) }),
        ...(request.InvocationType === undefined
          ? {}
          : { InvocationType: request.InvocationType as 'RequestResponse' }),
        ...(request.Qualifier === undefined ? {} : { Qualifier: request.Qualifier }),
        ...(request.ClientContext === undefined ? {} : { ClientContext: request.ClientContext }),
        ...(request.LogType === undefined ? {} : { LogType: request.LogType as 'None' }),
      }),
      { abortSignal: signal },
    );
  } catch (error) {
    throw serviceFailure('Lambda', error);
  }
  if (output.FunctionError !== undefined) {
    const text = output.Payload === undefined ? '' : Buffer.from(output.Payload).toString('utf8');
    let errorType: unknown;
    try {
      errorType = (JSON.parse(text) as { errorType?: unknown }).errorType;
    } catch {
      errorType = undefined;
    }
    // A function error without an errorType (a crash, a timeout in some runtimes) is Lambda.Unknown on AWS.
    throw new TaskFailure(
      typeof errorType === 'string' && errorType !== '' ? errorType : 'Lambda.Unknown',
      text,
    );
  }
  return output;
}

function optionalString(
  parameters: JsonObject,
  field: string,
  invocation: TaskInvocation,
): string | undefined {
  const value = parameters[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    throw runtimeFailure(
      `The field '${field}' of task state '${invocation.stateName}' must be a string, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

async function runLambdaInvoke(invocation: TaskInvocation, client: LambdaClient): Promise<Json> {
  const parameters = invocation.input;
  if (!isJsonObject(parameters)) {
    throw runtimeFailure(
      `The parameters of task state '${invocation.stateName}' must be an object with FunctionName`,
    );
  }
  const functionName = optionalString(parameters, 'FunctionName', invocation);
  if (functionName === undefined) {
    throw runtimeFailure(
      `The field 'FunctionName' is required by task state '${invocation.stateName}' (lambda:invoke)`,
    );
  }
  const invocationType = optionalString(parameters, 'InvocationType', invocation);
  const qualifier = optionalString(parameters, 'Qualifier', invocation);
  const clientContext = optionalString(parameters, 'ClientContext', invocation);
  const logType = optionalString(parameters, 'LogType', invocation);
  const output = await invokeFunction(
    client,
    {
      FunctionName: functionName,
      ...(parameters.Payload === undefined ? {} : { Payload: parameters.Payload }),
      ...(invocationType === undefined ? {} : { InvocationType: invocationType }),
      ...(qualifier === undefined ? {} : { Qualifier: qualifier }),
      ...(clientContext === undefined ? {} : { ClientContext: clientContext }),
      ...(logType === undefined ? {} : { LogType: logType }),
    },
    invocation.abortSignal,
  );
  const statusCode = output.StatusCode ?? output.$metadata.httpStatusCode ?? 200;
  return {
    ...(output.ExecutedVersion === undefined ? {} : { ExecutedVersion: output.ExecutedVersion }),
    ...(output.LogResult === undefined ? {} : { LogResult: output.LogResult }),
    Payload: parsePayload(output),
    SdkHttpMetadata: { HttpStatusCode: output.$metadata.httpStatusCode ?? statusCode },
    SdkResponseMetadata: { RequestId: output.$metadata.requestId ?? '' },
    StatusCode: statusCode,
  };
}

async function runLambdaFunction(invocation: TaskInvocation, client: LambdaClient): Promise<Json> {
  const output = await invokeFunction(
    client,
    { FunctionName: invocation.resource.arn, Payload: invocation.input },
    invocation.abortSignal,
  );
  return parsePayload(output);
}

// AttributeValue members whose values are binary in the SDK and base64 text in ASL.
function toSdkAttributeValue(value: Json): AttributeValue {
  if (!isJsonObject(value)) return value as unknown as AttributeValue;
  if (typeof value.B === 'string') return { B: Buffer.from(value.B, 'base64') };
  if (Array.isArray(value.BS)) return { BS: value.BS.map((item) => Buffer.from(String(item), 'base64')) };
  if (Array.isArray(value.L)) return { L: value.L.map(toSdkAttributeValue) };
  if (isJsonObject(value.M)) return { M: toSdkAttributeMap(value.M) };
  return value as unknown as AttributeValue;
}

function toSdkAttributeMap(map: Json): Record<string, AttributeValue> {
  if (!isJsonObject(map)) return map as unknown as Record<string, AttributeValue>;
  return Object.fromEntries(Object.entries(map).map(([key, value]) => [key, toSdkAttributeValue(value)]));
}

/** Turns the ASL (JSON) form of a DynamoDB request into the SDK's, converting base64 binaries. */
function toSdkDynamoDbRequest(parameters: JsonObject): Record<string, unknown> {
  const request: Record<string, unknown> = { ...parameters };
  for (const field of ['Item', 'Key', 'ExpressionAttributeValues']) {
    if (field in parameters) request[field] = toSdkAttributeMap(parameters[field] ?? null);
  }
  for (const field of ['AttributeUpdates', 'Expected']) {
    const entries = parameters[field];
    if (isJsonObject(entries)) {
      request[field] = Object.fromEntries(
        Object.entries(entries).map(([name, entry]) => {
          if (!isJsonObject(entry)) return [name, entry];
          const converted: Record<string, unknown> = { ...entry };
          if ('Value' in entry) converted.Value = toSdkAttributeValue(entry.Value ?? null);
          if (Array.isArray(entry.AttributeValueList)) {
            converted.AttributeValueList = entry.AttributeValueList.map(toSdkAttributeValue);
          }
          return [name, converted];
        }),
      );
    }
  }
  return request;
}

async function runDynamoDb(
  invocation: TaskInvocation,
  operation: DynamoDbOperation,
  client: DynamoDBClient,
): Promise<Json> {
  const parameters = invocation.input;
  if (!isJsonObject(parameters)) {
    throw runtimeFailure(
      `The parameters of task state '${invocation.stateName}' must be an object (dynamodb:${operation})`,
    );
  }
  // The request is the DynamoDB API's own shape (TableName, Item, Key...), as ASL writes it.
  const request = toSdkDynamoDbRequest(parameters) as never;
  const command =
    operation === 'putItem'
      ? new PutItemCommand(request)
      : operation === 'getItem'
        ? new GetItemCommand(request)
        : operation === 'updateItem'
          ? new UpdateItemCommand(request)
          : new DeleteItemCommand(request);
  let output: { $metadata: { httpStatusCode?: number; requestId?: string } };
  try {
    output = await client.send(command as PutItemCommand, { abortSignal: invocation.abortSignal });
  } catch (error) {
    throw serviceFailure('DynamoDB', error);
  }
  const result = toJson(output) as JsonObject;
  return {
    ...result,
    SdkHttpMetadata: { HttpStatusCode: output.$metadata.httpStatusCode ?? 200 },
    SdkResponseMetadata: { RequestId: output.$metadata.requestId ?? '' },
  };
}

async function runPutEvents(invocation: TaskInvocation, client: EventBridgeClient): Promise<Json> {
  const parameters = invocation.input;
  const entries = isJsonObject(parameters) ? parameters.Entries : undefined;
  if (!Array.isArray(entries)) {
    throw runtimeFailure(
      `The field 'Entries' of task state '${invocation.stateName}' must be an array (events:putEvents)`,
    );
  }
  const requestEntries = entries.map((entry, index): PutEventsRequestEntry => {
    if (!isJsonObject(entry)) {
      throw runtimeFailure(`Entries[${index}] of task state '${invocation.stateName}' must be an object`);
    }
    const resources = Array.isArray(entry.Resources) ? entry.Resources.map(String) : [];
    const time = entry.Time;
    return {
      ...(entry as Record<string, unknown>),
      // Step Functions serializes an object Detail and appends the execution and state machine ARNs.
      ...(entry.Detail === undefined
        ? {}
        : { Detail: typeof entry.Detail === 'string' ? entry.Detail : JSON.stringify(entry.Detail) }),
      ...(typeof time === 'string' || typeof time === 'number' ? { Time: new Date(time) } : {}),
      Resources: [...resources, invocation.executionArn, invocation.stateMachineArn],
    };
  });
  let output: PutEventsCommandOutput;
  try {
    output = await client.send(new PutEventsCommand({ Entries: requestEntries }), {
      abortSignal: invocation.abortSignal,
    });
  } catch (error) {
    throw serviceFailure('EventBridge', error);
  }
  const result: JsonObject = {
    Entries: toJson(output.Entries ?? []),
    FailedEntryCount: output.FailedEntryCount ?? 0,
  };
  if ((output.FailedEntryCount ?? 0) > 0)
    throw new TaskFailure('EventBridge.FailedEntry', JSON.stringify(result));
  return result;
}

/**
 * Runs one Task resource and returns its result, the state's raw result before `ResultSelector`.
 *
 * @throws TaskFailure named as Step Functions names the failure: the function's `errorType` (or
 *   `Lambda.Unknown`), `Lambda.<Exception>`, `DynamoDB.<Exception>`, `EventBridge.<Exception>`,
 *   `EventBridge.FailedEntry`, `States.DataLimitExceeded` (result over {@link maxPayloadBytes}), or
 *   `States.Runtime` (unsupported resource, missing endpoint, malformed parameters)
 */
export async function runTaskResource(
  invocation: TaskInvocation,
  clients: IntegrationClients,
): Promise<Json> {
  const { resource } = invocation;
  let result: Json;
  switch (resource.kind) {
    case 'lambdaInvoke':
      if (clients.lambda === undefined) throw missingClient(invocation, 'Lambda', 'lambdaEndpoint');
      result = await runLambdaInvoke(invocation, clients.lambda);
      break;
    case 'lambdaFunction':
      if (clients.lambda === undefined) throw missingClient(invocation, 'Lambda', 'lambdaEndpoint');
      result = await runLambdaFunction(invocation, clients.lambda);
      break;
    case 'dynamodb':
      if (clients.dynamodb === undefined) throw missingClient(invocation, 'DynamoDB', 'dynamodbEndpoint');
      result = await runDynamoDb(invocation, resource.resource, clients.dynamodb);
      break;
    case 'eventsPutEvents':
      if (clients.eventBridge === undefined)
        throw missingClient(invocation, 'EventBridge', 'eventBridgeEndpoint');
      result = await runPutEvents(invocation, clients.eventBridge);
      break;
    default:
      throw runtimeFailure(
        `The resource '${resource.arn}' of task state '${invocation.stateName}' is not supported by the local Step Functions emulator, which runs arn:aws:states:::lambda:invoke, Lambda function ARNs, arn:aws:states:::dynamodb:putItem|getItem|updateItem|deleteItem and arn:aws:states:::events:putEvents`,
      );
  }
  if (Buffer.byteLength(JSON.stringify(result) ?? 'null') > maxPayloadBytes) {
    throw new TaskFailure(
      'States.DataLimitExceeded',
      `The state/task '${invocation.stateName}' returned a result with a size exceeding the maximum number of bytes service limit.`,
      { terminal: true },
    );
  }
  return result;
}
