/**
 * Errors of the local Lambda API emulator, with the names, HTTP status codes and body shapes of the
 * real Lambda API (restJson1), so that `@aws-sdk/client-lambda` and the AWS CLI raise the same
 * exception classes as against AWS.
 *
 * Wire shape: header `x-amzn-ErrorType: <name>`, JSON body `{"Type": "User" | "Service", "message": …}`
 * (ServiceException carries `Message`, as the Lambda model declares it), plus `Reason` for
 * TooManyRequestsException.
 *
 * @see https://docs.aws.amazon.com/lambda/latest/api/CommonErrors.html
 */

/** `Type` of an error body: `User` for the caller's fault, `Service` for Lambda's. */
export type LambdaErrorKind = 'User' | 'Service';

/**
 * `Reason` of a TooManyRequestsException, from the Lambda API reference:
 * `ReservedFunctionConcurrentInvocationLimitExceeded` (the function's reserved concurrency is 0 or
 * used up), `ConcurrentInvocationLimitExceeded` (the account's unreserved concurrency is used up),
 * `CallerRateLimitExceeded` (the control-plane request rate quota).
 */
export type TooManyRequestsReason =
  | 'ReservedFunctionConcurrentInvocationLimitExceeded'
  | 'ConcurrentInvocationLimitExceeded'
  | 'CallerRateLimitExceeded';

/** One error answer of the Lambda API: `name` is the AWS error code sent in `x-amzn-ErrorType`. */
export class LambdaApiError extends Error {
  /** HTTP status code of the answer. */
  readonly status: number;
  readonly kind: LambdaErrorKind;
  /** Extra members of the JSON body (e.g. `Reason`). */
  readonly fields: Readonly<Record<string, string>>;

  constructor(
    code: string,
    status: number,
    message: string,
    init: { kind?: LambdaErrorKind; fields?: Record<string, string> } = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = code;
    this.status = status;
    this.kind = init.kind ?? (status >= 500 ? 'Service' : 'User');
    this.fields = init.fields ?? {};
  }

  /** The JSON body AWS sends for this error. */
  toBody(): Record<string, string> {
    const messageKey = this.name === 'ServiceException' ? 'Message' : 'message';
    return { Type: this.kind, [messageKey]: this.message, ...this.fields };
  }
}

/** 404 ResourceNotFoundException: the function, version or alias does not exist. */
export function resourceNotFound(message: string): LambdaApiError {
  return new LambdaApiError('ResourceNotFoundException', 404, message);
}

/** 409 ResourceConflictException: the resource exists already, or an update is in progress. */
export function resourceConflict(message: string): LambdaApiError {
  return new LambdaApiError('ResourceConflictException', 409, message);
}

/** 400 InvalidParameterValueException: a parameter is not valid for this resource or operation. */
export function invalidParameterValue(message: string): LambdaApiError {
  return new LambdaApiError('InvalidParameterValueException', 400, message);
}

/**
 * 400 ValidationException: a parameter breaks its constraint in the API model (type, range,
 * pattern, length). `violations` are AWS's phrases: `Value '1000' at 'timeout' failed to satisfy
 * constraint: Member must have value less than or equal to 900`.
 */
export function validationException(violations: readonly string[]): LambdaApiError {
  const count = violations.length;
  const head = `${count} validation error${count === 1 ? '' : 's'} detected: `;
  return new LambdaApiError('ValidationException', 400, head + violations.join('; '));
}

/** 400 InvalidRequestContentException: the body is not JSON, or a header is invalid. */
export function invalidRequestContent(message: string): LambdaApiError {
  return new LambdaApiError('InvalidRequestContentException', 400, message);
}

/** 412 PreconditionFailedException: the RevisionId given is not the current one. */
export function preconditionFailed(message: string): LambdaApiError {
  return new LambdaApiError('PreconditionFailedException', 412, message);
}

/** 413 RequestTooLargeException: the request body is over the operation's payload quota. */
export function requestTooLarge(limitBytes: number, operation: string): LambdaApiError {
  return new LambdaApiError(
    'RequestTooLargeException',
    413,
    `Request must be smaller than ${limitBytes} bytes for the ${operation} operation`,
  );
}

/** 429 TooManyRequestsException with its `Reason`. */
export function tooManyRequests(reason: TooManyRequestsReason): LambdaApiError {
  const message = reason === 'CallerRateLimitExceeded' ? 'Rate exceeded' : 'Rate Exceeded.';
  return new LambdaApiError('TooManyRequestsException', 429, message, { fields: { Reason: reason } });
}

/** 500 ServiceException: Lambda failed internally (here: injected by fault injection). */
export function serviceException(message = 'An internal error occurred (injected fault)'): LambdaApiError {
  return new LambdaApiError('ServiceException', 500, message);
}

/** 502 ResourceNotReadyException: the function is inactive and cannot run yet. */
export function resourceNotReady(message: string): LambdaApiError {
  return new LambdaApiError('ResourceNotReadyException', 502, message, { kind: 'Service' });
}

/** 404 UnknownOperationException: no Lambda operation has this method and path. */
export function unknownOperation(method: string, path: string): LambdaApiError {
  return new LambdaApiError('UnknownOperationException', 404, `Unknown operation: ${method} ${path}`);
}
