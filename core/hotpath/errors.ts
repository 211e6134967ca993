import { GrecoError, ServiceUnavailableError } from '../errors.ts';

/**
 * 503: the Lambda API did not answer usefully within the hot path's retry deadline (throttled by
 * the account-wide 15 requests/s quota, a 5xx, or the network). Nothing more was attempted; the
 * verb is safe to repeat.
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
 * because the controller's role lacks a permission). The detail stays in the logs.
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
 * 503: the token's signing keys could not be fetched from the issuer (a cold start while the
 * issuer is unreachable: the only case in which the hot path depends on it).
 */
export class KeySetUnavailableError extends ServiceUnavailableError {
  constructor(jwksUrl: string, options?: ErrorOptions) {
    super(`the key set could not be fetched from ${jwksUrl}; the token cannot be verified yet`, 5, options);
    this.name = 'KeySetUnavailableError';
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

/** 405: the path exists but not with this method; `Allow` lists the methods it has (RFC 9110 §15.5.6). */
export class MethodNotAllowedError extends GrecoError {
  constructor(method: string, allow: readonly string[], options?: ErrorOptions) {
    super(
      `${method} is not allowed here; use ${allow.join(' or ')}`,
      {
        status: 405,
        title: 'Method not allowed',
        slug: 'method-not-allowed',
        headers: { Allow: allow.join(', ') },
      },
      options,
    );
    this.name = 'MethodNotAllowedError';
  }
}
