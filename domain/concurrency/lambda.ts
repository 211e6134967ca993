/**
 * The concurrency protocol's adapter over the Lambda API (read, concurrency, tags): the only
 * module of the protocol that sends Lambda commands or knows the SDK's exception names. Failures
 * leave it as greco errors (see ./errors.ts).
 */
import {
  DeleteFunctionConcurrencyCommand,
  GetFunctionCommand,
  type GetFunctionCommandOutput,
  type LambdaClient,
  PutFunctionConcurrencyCommand,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-lambda';
import { ConflictError, NotFoundError } from '../errors.ts';
import { LambdaCallError, LambdaUnavailableError } from './errors.ts';

/** What Lambda says about a function now: one `GetFunction` answer. */
export interface ObservedFunction {
  /** The Lambda function name, `<prefix>-<workspace>-<name>`. */
  readonly functionName: string;
  /** `arn:<partition>:lambda:<region>:<account>:function:<functionName>` (the ARN tags are written on). */
  readonly functionArn: string;
  /** Every tag of the function (Lambda allows 50 per function). */
  readonly tags: Readonly<Record<string, string>>;
  /** Reserved concurrent executions set on the function now; `undefined` when it has none (unreserved). */
  readonly reservedConcurrentExecutions: number | undefined;
}

/**
 * Reads a function's configuration, tags and reserved concurrency in one `GetFunction` call.
 *
 * `GetFunction` has its own quota (100 requests/s per account, Lambda quotas) apart from the
 * 15 requests/s of the other control-plane calls, so reading never competes with writing. Lambda
 * returns `Tags` only to a caller allowed `lambda:ListTags`.
 *
 * @returns the function, or `undefined` when it does not exist
 * @throws LambdaUnavailableError when Lambda throttles or fails past the retry deadline
 * @throws LambdaCallError when Lambda refuses the call (e.g. access denied) or could not read the tags
 */
export async function readFunction(
  lambda: LambdaClient,
  functionName: string,
): Promise<ObservedFunction | undefined> {
  let output: GetFunctionCommandOutput;
  try {
    output = await lambda.send(new GetFunctionCommand({ FunctionName: functionName }));
  } catch (error) {
    if (errorName(error) === 'ResourceNotFoundException') return undefined;
    throw translateLambdaError('GetFunction', functionName, error);
  }
  if (output.TagsError !== undefined) {
    throw new LambdaCallError(
      'GetFunction',
      `the tags of ${functionName} could not be read: ${output.TagsError.ErrorCode}: ${output.TagsError.Message}`,
    );
  }
  const functionArn = output.Configuration?.FunctionArn;
  if (functionArn === undefined) {
    throw new LambdaCallError(
      'GetFunction',
      `GetFunction answered without a FunctionArn for ${functionName}`,
    );
  }
  return {
    functionName,
    functionArn,
    tags: output.Tags ?? {},
    reservedConcurrentExecutions: output.Concurrency?.ReservedConcurrentExecutions,
  };
}

/**
 * Sets a function's reserved concurrency: a number (`PutFunctionConcurrency`; 0 throttles every
 * invocation with 429 and releases warm capacity) or `undefined` for unreserved
 * (`DeleteFunctionConcurrency`).
 *
 * @throws ConflictError when Lambda refuses a number that would leave fewer than 100 unreserved
 *   concurrent executions in the account (Lambda quotas, "Concurrent executions")
 * @throws NotFoundError when the function was deleted meanwhile
 * @throws LambdaUnavailableError or LambdaCallError as {@link readFunction}
 */
export async function setReservedConcurrency(
  lambda: LambdaClient,
  functionName: string,
  reservedConcurrentExecutions: number | undefined,
): Promise<void> {
  if (reservedConcurrentExecutions === undefined) {
    try {
      await lambda.send(new DeleteFunctionConcurrencyCommand({ FunctionName: functionName }));
    } catch (error) {
      throw translateLambdaError('DeleteFunctionConcurrency', functionName, error);
    }
    return;
  }
  try {
    await lambda.send(
      new PutFunctionConcurrencyCommand({
        FunctionName: functionName,
        ReservedConcurrentExecutions: reservedConcurrentExecutions,
      }),
    );
  } catch (error) {
    if (errorName(error) === 'InvalidParameterValueException') {
      throw new ConflictError(
        `Lambda refused reserved concurrency ${reservedConcurrentExecutions} for ${functionName}: ${errorMessage(error)}`,
        { reservedConcurrency: reservedConcurrentExecutions },
        { cause: error },
      );
    }
    throw translateLambdaError('PutFunctionConcurrency', functionName, error);
  }
}

/**
 * Adds or overwrites tags on a function (`TagResource`, by ARN).
 *
 * @throws NotFoundError, LambdaUnavailableError or LambdaCallError as {@link setReservedConcurrency}
 */
export async function tagFunction(
  lambda: LambdaClient,
  fn: Pick<ObservedFunction, 'functionName' | 'functionArn'>,
  tags: Readonly<Record<string, string>>,
): Promise<void> {
  try {
    await lambda.send(new TagResourceCommand({ Resource: fn.functionArn, Tags: { ...tags } }));
  } catch (error) {
    throw translateLambdaError('TagResource', fn.functionName, error);
  }
}

/**
 * Removes tags from a function (`UntagResource`, by ARN); removing an absent tag is not an error.
 *
 * @throws NotFoundError, LambdaUnavailableError or LambdaCallError as {@link setReservedConcurrency}
 */
export async function untagFunction(
  lambda: LambdaClient,
  fn: Pick<ObservedFunction, 'functionName' | 'functionArn'>,
  tagKeys: readonly string[],
): Promise<void> {
  try {
    await lambda.send(new UntagResourceCommand({ Resource: fn.functionArn, TagKeys: [...tagKeys] }));
  } catch (error) {
    throw translateLambdaError('UntagResource', fn.functionName, error);
  }
}

/** Lambda errors that mean "not now" rather than "never": the verb may be repeated. */
const unavailableErrorNames = new Set([
  'TooManyRequestsException',
  'ServiceException',
  'TimeoutError',
  'ResourceConflictException',
]);

/** Turns an SDK failure of `operation` into the greco error the verb answers with. */
function translateLambdaError(operation: string, functionName: string, error: unknown): Error {
  const name = errorName(error);
  if (name === 'ResourceNotFoundException') {
    return new NotFoundError(`function ${functionName} not found`, { cause: error });
  }
  const status = httpStatus(error);
  if (unavailableErrorNames.has(name) || status === undefined || status === 429 || status >= 500) {
    return new LambdaUnavailableError(
      operation,
      `the Lambda API did not complete ${operation} for ${functionName} in time (${name}); repeating the request is safe`,
      { cause: error },
    );
  }
  return new LambdaCallError(
    operation,
    `${operation} failed for ${functionName}: ${name}: ${errorMessage(error)}`,
    {
      cause: error,
    },
  );
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'UnknownError';
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The HTTP status of an SDK service error; `undefined` when no response came (network, timeout). */
function httpStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('$metadata' in error)) return undefined;
  const metadata = (error as { $metadata?: { httpStatusCode?: number } }).$metadata;
  return metadata?.httpStatusCode;
}
