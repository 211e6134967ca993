import { ServiceUnavailableError } from '../../domain/errors.ts';

/** Error names the AWS SDK gives to throttling, capacity and server-side failures. */
const transientErrorNames = new Set([
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'SlowDown',
  'InternalServerError',
  'InternalError',
  'InternalFailure',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'LimitExceededException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'AbortError',
  'NetworkingError',
  // The table itself is missing or still being created: the store is unusable, not the request.
  'ResourceNotFoundException',
  'ResourceInUseException',
]);

/** Node.js socket error codes that mean the service could not be reached. */
const networkErrorCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);

/**
 * True when `error` from an AWS SDK call means the service is unavailable rather than the
 * request wrong: network failures, timeouts, throttling, HTTP 5xx.
 */
export function isServiceUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as {
    name?: string;
    code?: string;
    $metadata?: { httpStatusCode?: number };
    $fault?: string;
    $retryable?: unknown;
    cause?: unknown;
  };
  if (e.name !== undefined && transientErrorNames.has(e.name)) return true;
  if (e.code !== undefined && networkErrorCodes.has(e.code)) return true;
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined && status >= 500) return true;
  if (e.$retryable !== undefined && e.$fault === 'server') return true;
  if (e.cause !== undefined && e.cause !== error) return isServiceUnavailable(e.cause);
  return false;
}

/**
 * Translates a transient SDK error into {@link ServiceUnavailableError} (503 with
 * `Retry-After`); returns any other error unchanged, for the caller to rethrow.
 *
 * @param what what was unavailable, for the message (e.g. `'the config table'`)
 */
export function translateUnavailable(error: unknown, what: string, retryAfterSeconds = 5): unknown {
  if (error instanceof ServiceUnavailableError) return error;
  if (isServiceUnavailable(error)) {
    return new ServiceUnavailableError(`${what} is unavailable, try again later`, retryAfterSeconds, {
      cause: error,
    });
  }
  return error;
}
