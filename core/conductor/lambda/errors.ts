/**
 * Lambda API errors as the conductor contract sees them: the change's fault (a veto), "not now"
 * (transient), or greco's own ({@link ConductorLambdaError}). The SDK's exceptions are translated
 * here and nowhere else in the conductor.
 *
 * @module
 */
import type { ChangeItem } from '../../deployments/types.ts';
import {
  ChangeVetoError,
  ConductorError,
  describeError,
  isTransientError,
  TransientChangeError,
} from '../kit/errors.ts';

/**
 * A Lambda call failed for a reason that is greco's fault or the data plane's, not the change's
 * (e.g. `AccessDeniedException`, a function deleted under the conductor during commit).
 */
export class ConductorLambdaError extends ConductorError {
  /** The Lambda API operation, e.g. `UpdateAlias`. */
  readonly operation: string;
  constructor(operation: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConductorLambdaError';
    this.operation = operation;
  }
}

/** Lambda errors that mean "Lambda refused this code or configuration" (reason LAMBDA_REJECTED). */
const rejectionErrorNames = new Set([
  'InvalidParameterValueException',
  'ValidationException',
  'CodeStorageExceededException',
  'CodeVerificationFailedException',
  'InvalidCodeSignatureException',
  'CodeSigningConfigNotFoundException',
  'RequestTooLargeException',
]);

/**
 * Lambda's answer to a function given a role IAM has not propagated yet ("The role defined for the
 * function cannot be assumed by Lambda."), a few seconds after CreateRole: transient.
 */
const roleNotAssumableYet = /role defined for the function cannot be assumed by Lambda/i;

/** Lambda errors that mean "not now": the change stays pending and the call is repeated. */
const transientErrorNames = new Set([
  'TooManyRequestsException',
  'ServiceException',
  'ResourceConflictException',
  'ResourceNotReadyException',
  'EC2ThrottledException',
  'TimeoutError',
  'AbortError',
]);

/** The error's `name`, `UnknownError` for what is not an `Error`. */
export function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'UnknownError';
}

/** Lambda's own "not now" errors, by name (the kit knows the rest: 429, 5xx, no answer). */
export function isLambdaTransientName(error: unknown): boolean {
  return error instanceof Error && transientErrorNames.has(error.name);
}

/** Whether an error means "not now": throttling, 5xx, no answer, or the hot path's "unavailable". */
export function isLambdaTransient(error: unknown): boolean {
  return isTransientError(error) || isLambdaTransientName(error);
}

/** The error itself, or a {@link TransientChangeError} wrapping it when it is transient. */
export function asTransient(error: unknown): unknown {
  if (error instanceof TransientChangeError || !isLambdaTransient(error)) return error;
  return new TransientChangeError(describeError(error), { cause: error });
}

/** An error's message for a veto reason, at most 500 characters. */
export function failureReason(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}

/**
 * Classifies a failed write of prepare: a veto (CODE_MISSING, LAMBDA_REJECTED), transient
 * trouble, or greco's own fault.
 *
 * @param artifactsBucket named in CODE_MISSING's message
 */
export function lambdaFailure(
  operation: string,
  change: ChangeItem,
  error: unknown,
  artifactsBucket: string,
): Error {
  const name = errorName(error);
  const message = error instanceof Error ? error.message : String(error);
  if (name === 'InvalidParameterValueException' && /S3 Error Code: (NoSuchKey|NoSuchBucket)/.test(message)) {
    return new ChangeVetoError({
      code: 'CODE_MISSING',
      function: change.name,
      message: `the code of ${change.name} (s3://${artifactsBucket}/${change.spec?.code.s3Key}) is not in the artifacts bucket: ${message}`,
    });
  }
  // A role created seconds ago is not assumable by Lambda yet (IAM is eventually consistent):
  // not the change's fault, a later batch succeeds.
  if (name === 'InvalidParameterValueException' && roleNotAssumableYet.test(message)) {
    return new TransientChangeError(`${operation} ${change.managedName}: ${name}: ${message}`, {
      cause: error,
    });
  }
  if (rejectionErrorNames.has(name)) {
    return new ChangeVetoError({
      code: 'LAMBDA_REJECTED',
      function: change.name,
      message: `Lambda refused ${operation} for ${change.name}: ${name}: ${message}`,
    });
  }
  if (isLambdaTransient(error)) {
    return new TransientChangeError(`${operation} ${change.managedName}: ${name}`, { cause: error });
  }
  return new ConductorLambdaError(
    operation,
    `${operation} failed for ${change.managedName}: ${name}: ${message}`,
    {
      cause: error,
    },
  );
}
