/**
 * Errors of the local Step Functions API, named as AWS names them. Each renders as the awsJson1_0
 * error body `{"__type": "<name>", "message": "..."}` that `@aws-sdk/client-sfn` and the AWS CLI
 * turn into their own exception classes (`StateMachineDoesNotExist`, `ExecutionAlreadyExists`...).
 *
 * @see https://docs.aws.amazon.com/step-functions/latest/apireference/CommonErrors.html
 */

/** The `__type` values this emulator answers with: AWS Step Functions' own error names. */
export type StepFunctionsErrorName =
  | 'ExecutionAlreadyExists'
  | 'ExecutionDoesNotExist'
  | 'InternalFailure'
  | 'InvalidArn'
  | 'InvalidDefinition'
  | 'InvalidExecutionInput'
  | 'InvalidLoggingConfiguration'
  | 'InvalidName'
  | 'InvalidToken'
  | 'MissingRequiredParameter'
  | 'SerializationException'
  | 'StateMachineAlreadyExists'
  | 'StateMachineDoesNotExist'
  | 'StateMachineTypeNotSupported'
  | 'UnknownOperationException'
  | 'ValidationException';

/**
 * An error of the Step Functions API: `type` is the AWS error name sent as `__type`,
 * `statusCode` the HTTP status (400 for every client error, as AWS; 500 for `InternalFailure`).
 */
export class StepFunctionsApiError extends Error {
  readonly type: StepFunctionsErrorName;
  readonly statusCode: number;

  constructor(type: StepFunctionsErrorName, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StepFunctionsApiError';
    this.type = type;
    this.statusCode = type === 'InternalFailure' ? 500 : 400;
  }

  /** The awsJson1_0 error body. */
  toJSON(): { __type: StepFunctionsErrorName; message: string } {
    return { __type: this.type, message: this.message };
  }
}

/**
 * A `ValidationException` in AWS's wording for one bad member:
 * `1 validation error detected: Value at 'name' failed to satisfy constraint: ...`.
 */
export function validationError(member: string, constraint: string, value?: unknown): StepFunctionsApiError {
  const shown = value === undefined ? '' : ` '${String(value).slice(0, 100)}'`;
  return new StepFunctionsApiError(
    'ValidationException',
    `1 validation error detected: Value${shown} at '${member}' failed to satisfy constraint: ${constraint}`,
  );
}
