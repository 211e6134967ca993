/**
 * Errors of the concurrency protocol and its Lambda calls, thrown alike to the hot path's verbs
 * and to the Lambda conductor's commit.
 *
 * @module
 */
import { GrecoError, ServiceUnavailableError } from '../errors.ts';

/**
 * 503: the Lambda API did not answer usefully within the client's retry deadline (throttled by
 * the account-wide 15 requests/s quota, a 5xx, or the network; `domain/lambda-retry.ts`). Nothing
 * more was attempted; the verb is safe to repeat.
 */
export class LambdaUnavailableError extends ServiceUnavailableError {
  /** The Lambda API operation that failed, e.g. `PutFunctionConcurrency`. */
  readonly operation: string;
  constructor(operation: string, message: string, options?: ErrorOptions) {
    super(message, 1, options);
    this.name = 'LambdaUnavailableError';
    this.operation = operation;
  }
}

/**
 * 500: the Lambda API refused a call for a reason that is greco's fault (e.g. `AccessDeniedException`
 * because the caller's role lacks a permission). The detail stays in the logs.
 */
export class LambdaCallError extends GrecoError {
  /** The Lambda API operation that failed, e.g. `TagResource`. */
  readonly operation: string;
  constructor(operation: string, message: string, options?: ErrorOptions) {
    super(message, { status: 500, title: 'Internal error', slug: 'internal' }, options);
    this.name = 'LambdaCallError';
    this.operation = operation;
  }
}

/**
 * 503: the function's concurrency kept changing under the verb (other writers in a tight loop);
 * it was not left settled. Repeating the verb is safe.
 */
export class ConcurrencyNotSettledError extends ServiceUnavailableError {
  constructor(functionName: string, rounds: number, options?: ErrorOptions) {
    super(
      `the concurrency of ${functionName} did not settle after ${rounds} rounds of concurrent changes`,
      1,
      options,
    );
    this.name = 'ConcurrencyNotSettledError';
  }
}
