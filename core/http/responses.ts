import type { GrecoError } from '../../domain/errors.ts';
import type { HttpResponse } from './types.ts';

/** Media type of successful answers. */
export const jsonContentType = 'application/json';
/** Media type of errors (RFC 9457). */
export const problemContentType = 'application/problem+json';

/** A JSON answer. */
export function jsonResponse(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): HttpResponse {
  return {
    statusCode,
    headers: { 'content-type': jsonContentType, 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

/** An answer without a body (e.g. 204). */
export function emptyResponse(statusCode: number, headers: Record<string, string> = {}): HttpResponse {
  return { statusCode, headers: { 'cache-control': 'no-store', ...headers } };
}

/**
 * The RFC 9457 answer for a greco error: its status, `application/problem+json`, its own
 * headers (e.g. `Retry-After`), and `requestId` as an extension member for support requests.
 */
export function problemResponse(error: GrecoError, instance?: string, requestId?: string): HttpResponse {
  const problem = { ...error.toProblem(instance), ...(requestId === undefined ? {} : { requestId }) };
  return {
    statusCode: error.status,
    headers: { 'content-type': problemContentType, 'cache-control': 'no-store', ...error.headers },
    body: JSON.stringify(problem),
  };
}
